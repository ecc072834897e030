"""The stand-in Kaggle's code-competition endpoints (fake_kaggle.py dispatches to them).

What `kagglekit package --push` and `kagglekit submit --upload` on a code competition make
the official client call, found by reading kaggle_api_extended.py and kagglesdk and by
logging the requests:

    POST /v1/datasets.DatasetApiService/GetDatasetStatus   404 until created, then READY
    POST /v1/blobs.BlobApiService/StartBlobUpload          -> createUrl /upload/<token>
    PUT  /upload/<token>                                   each file (a folder as <name>.zip)
    POST /v1/datasets.DatasetApiService/CreateDataset      files: [{token}]
    POST /v1/datasets.DatasetApiService/CreateDatasetVersion
    POST /v1/kernels.KernelsApiService/SaveKernel          -> versionNumber 1, 2, ...
    POST /v1/kernels.KernelsApiService/GetKernelSessionStatus  RUNNING, then COMPLETE/ERROR
    POST /v1/competitions.CompetitionApiService/CreateCodeSubmission  -> ref
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

SERVICES = ("datasets.DatasetApiService", "blobs.BlobApiService", "kernels.KernelsApiService")


@dataclass
class FakeCode:
    """Datasets, notebooks and notebook submissions of the stand-in Kaggle."""

    datasets: dict[str, list[dict]] = field(default_factory=dict)  # ref -> versions
    kernels: dict[str, list[dict]] = field(default_factory=dict)  # ref -> SaveKernel requests
    code_submissions: list[dict] = field(default_factory=list)
    blob_names: dict[str, str] = field(default_factory=dict)
    kernel_polls: int = 0
    kernel_polls_until_done: int = 1
    kernel_status: str = "COMPLETE"  # or "ERROR"
    kernel_failure: str = ""

    def files(self, dataset: str, version: int = -1, uploads: dict | None = None) -> dict:
        """name -> bytes of one version of a dataset."""
        return {self.blob_names[t]: uploads[t] for t in self.datasets[dataset][version]["tokens"]}


def _error(status: int, message: str):
    return status, {"code": status, "message": message}


def handle(state, path: str, request: dict):
    """(status, JSON payload) for a code-competition call; None when it is not one."""
    code: FakeCode = state.code
    service, method = path[len("/v1/") :].rsplit("/", 1)
    if service == "blobs.BlobApiService" and method == "StartBlobUpload":
        token = f"blob-{len(state.uploads) + 1}"
        state.uploads[token] = b""
        code.blob_names[token] = request.get("name", "")
        return (200, {"token": token, "createUrl": f"{state.url}/upload/{token}"})
    if service == "datasets.DatasetApiService":
        ref = (
            f"{request.get('ownerSlug', '')}/{request.get('datasetSlug', request.get('slug', ''))}"
        )
        if method == "GetDatasetStatus":
            if ref not in code.datasets:
                return _error(404, "Dataset not found")
            return (200, {"status": "READY"})
        body = request.get("body", request)
        tokens = [f.get("token") for f in body.get("files", [])]
        if not tokens or any(not state.uploads.get(t) for t in tokens):
            return _error(400, "Dataset file was not uploaded")
        version = {
            "tokens": tokens,
            "notes": body.get("versionNotes", ""),
            "private": request.get("isPrivate"),
        }
        if method == "CreateDataset":
            if ref in code.datasets:
                return (200, {"error": "slug already in use"})
            code.datasets[ref] = [version]
        elif method == "CreateDatasetVersion":
            if ref not in code.datasets:
                return _error(404, "Dataset not found")
            code.datasets[ref].append(version)
        else:
            return None
        return (200, {"ref": ref, "url": f"https://www.kaggle.com/datasets/{ref}", "status": "ok"})
    if service == "kernels.KernelsApiService":
        if method == "SaveKernel":
            ref = request.get("slug", "")
            missing = [d for d in request.get("datasetDataSources", []) if d not in code.datasets]
            unknown = [
                c for c in request.get("competitionDataSources", []) if c not in state.competitions
            ]
            versions = code.kernels.setdefault(ref, [])
            versions.append(request)
            code.kernel_polls = 0
            return (
                200,
                {
                    "ref": f"/code/{ref}",
                    "url": f"https://www.kaggle.com/code/{ref}",
                    "versionNumber": len(versions),
                    "invalidDatasetSources": missing,
                    "invalidCompetitionSources": unknown,
                },
            )
        if method == "GetKernelSessionStatus":
            ref = f"{request.get('userName', '')}/{request.get('kernelSlug', '')}"
            if ref not in code.kernels:
                return _error(404, "Notebook not found")
            code.kernel_polls += 1
            if code.kernel_polls <= code.kernel_polls_until_done:
                return (200, {"status": "RUNNING"})
            return (200, {"status": code.kernel_status, "failureMessage": code.kernel_failure})
        return None
    return None


def create_code_submission(handler, state, slug: str, comp, request: dict):
    """CreateCodeSubmission: the notebook version must exist; listed like a file submission."""
    code: FakeCode = state.code
    ref = f"{request.get('kernelOwner', '')}/{request.get('kernelSlug', '')}"
    version = request.get("kernelVersion")
    if ref not in code.kernels or not version or not 1 <= int(version) <= len(code.kernels[ref]):
        return handler._error(404, f"Notebook {ref} version {version} not found")
    code.code_submissions.append(request)
    state.next_ref += 1
    state.submissions.setdefault(slug, []).insert(
        0,
        {
            "ref": state.next_ref,
            "polls": 0,
            "date": dt.datetime(2024, 5, 1, 12, 0, 0).isoformat() + ".000Z",
            "description": request.get("submissionDescription", ""),
            "fileName": request.get("fileName", ""),
            "token": "",
        },
    )
    return handler._send(
        200, {"message": f"Successfully submitted to {comp.title}", "ref": state.next_ref}
    )

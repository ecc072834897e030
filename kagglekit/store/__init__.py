"""The runs folder, owned here: nothing outside ``store/`` joins paths under it.

folder.py     RunsFolder(root): every path under the root (runs, temporaries, job
              stores, samples, the submissions cache, kernel records, studies);
              DEFAULT_ROOT (./runs) is defined there, once
atomic.py     temp-file-and-rename writes, JSON read/write, owner records, heartbeats
run.py        Run: a finished run folder read back and checked; run.json's format policy
record.py     the run record (run.json) builder, ``"format": 1``
create.py     new run ids; a run built in a temporary folder and renamed into place
jobstore.py   an incomplete run's jobs (resumable)
ranking.py    which run is best: one policy for ``runs`` and ``submit``
refs.py       run references (RUN, --from, --resume, -p teacher=RUN) resolved once
fitsource.py  the CV run a fit reproduces, and its threshold
"""

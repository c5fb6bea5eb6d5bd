"""Background export jobs: big exports run in worker threads, the page polls their progress.

Jobs live in the web process (one registry per Flask server); their files go to a private folder
and are named by an unguessable id, so a download URL cannot reach any other file. Only the
newest KEEP_JOBS jobs are kept; older files are deleted.
"""
from __future__ import annotations

import re
import secrets
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

WORKERS = 2
KEEP_JOBS = 20
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
EXTENSION_KEY = "ioc_export_jobs"

# work(path, progress) writes the file and returns its number of data rows.
Work = Callable[[Path, Callable[[int, int], None]], int]


@dataclass(frozen=True)
class JobStatus:
    """Where a job stands: state queued | running | done | failed, progress done/total, result."""

    job_id: str
    state: str
    done: int
    total: int
    download_name: str
    owner: str = ""                  # the user who asked (access.scope.Scope.username); only they may download
    rows: int | None = None
    error: str | None = None


class ExportJobs:
    """A small registry of export jobs run on a thread pool."""

    def __init__(self, directory: Path, workers: int = WORKERS, keep: int = KEEP_JOBS):
        self.directory = Path(directory)
        self.keep = keep
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ioc-export")
        self._lock = threading.Lock()
        self._jobs: dict[str, JobStatus] = {}

    def submit(self, work: Work, download_name: str, total: int, owner: str = "") -> str:
        """Queue a job; return its id."""
        job_id = secrets.token_hex(16)
        with self._lock:
            self._jobs[job_id] = JobStatus(job_id, "queued", 0, max(total, 1), download_name, owner)
            expired = list(self._jobs)[:-self.keep]
            for old in expired:
                if self._jobs[old].state in ("done", "failed"):
                    self._jobs.pop(old)
                    shutil.rmtree(self.directory / old, ignore_errors=True)
        self._pool.submit(self._run, job_id, work)
        return job_id

    def status(self, job_id: str, owner: str | None = None) -> JobStatus | None:
        """The job's status, or None for an unknown or malformed id (or another owner's job)."""
        if not isinstance(job_id, str) or not JOB_ID.match(job_id):
            return None
        with self._lock:
            status = self._jobs.get(job_id)
        if status is None or (owner is not None and status.owner != owner):
            return None
        return status

    def file(self, job_id: str, owner: str | None = None) -> tuple[Path, str] | None:
        """The finished job's file and download name, or None."""
        status = self.status(job_id, owner)
        if status is None or status.state != "done":
            return None
        return self._path(job_id, status.download_name), status.download_name

    def shutdown(self) -> None:
        """Stop taking jobs and wait for the running ones."""
        self._pool.shutdown(wait=True)

    def _run(self, job_id: str, work: Work) -> None:
        self._update(job_id, state="running")
        path = self._path(job_id, self._jobs[job_id].download_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            rows = work(path, lambda done, total: self._update(job_id, done=done, total=max(total, 1)))
        except Exception as err:  # noqa: BLE001 - the job reports any failure to the page instead of dying silently
            self._update(job_id, state="failed", error=f"{type(err).__name__}: {err}")
            return
        self._update(job_id, state="done", rows=rows, done=self._jobs[job_id].total)

    def _update(self, job_id: str, **changes) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)

    def _path(self, job_id: str, download_name: str) -> Path:
        return self.directory / job_id / download_name


def jobs_for(server, directory: Path) -> ExportJobs:
    """The job registry of a Flask server, created on first use."""
    with _CREATE_LOCK:
        if EXTENSION_KEY not in server.extensions:
            server.extensions[EXTENSION_KEY] = ExportJobs(directory)
        return server.extensions[EXTENSION_KEY]


_CREATE_LOCK = threading.Lock()

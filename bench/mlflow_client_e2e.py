"""The end-to-end client workload of `make bench`: a user's session with mlflow.MlflowClient.

    MLFLOW_TRACKING_URI=http://… [MLFLOW_TRACKING_TOKEN=…] .venv-bench/bin/python mlflow_client_e2e.py

Run by scripts/bench against `mlflow server` and against vouch, after the seed. One model, E2E_VERSIONS
(50) versions, transitions (one archiving the others), an alias, searches (filtered and paged),
a description and a tag, then deletes. Every answer is checked, so a wrong answer fails the run as
an error would. The client's retries are off (MLFLOW_HTTP_REQUEST_MAX_RETRIES=0, set by
scripts/bench), so an error is not hidden by a retry.

Prints one line:  E2E_RESULT seconds=S calls=N import_s=I
`seconds` is the wall time of the client calls, from the first call to the last, excluding Python's
start-up and `import mlflow` (`import_s`), which are the same whatever the server.
"""

import logging
import sys
import time
import warnings

started_import = time.perf_counter()
import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

import_s = time.perf_counter() - started_import

# No "Waiting up to 300 seconds for model version to finish creation" per version.
logging.getLogger("mlflow").setLevel(logging.WARNING)
# transition_model_version_stage and get_latest_versions are deprecated (FutureWarning) but work.
warnings.simplefilter("ignore", category=FutureWarning)

E2E_VERSIONS = 50
NAME = "e2e-client"
calls = 0


def call(fn, *args, **kwargs):
    global calls
    calls += 1
    return fn(*args, **kwargs)


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def expect_error(e, code, what):
    """An MlflowException from WHAT must carry MLflow's error code CODE."""
    check(e.error_code == code, "%s: expected error_code %s (as mlflow server answers), got %s: %s"
          % (what, code, e.error_code, e.message))


def main():
    uri = mlflow.get_tracking_uri()
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    t0 = time.perf_counter()

    call(client.create_registered_model, NAME, tags={"team": "bench"}, description="end-to-end")
    for n in range(1, E2E_VERSIONS + 1):
        v = call(client.create_model_version, NAME, "s3://bench/e2e/model-%d.tgz" % n,
                 run_id="r1" if n % 2 else "r2", tags={"n": str(n)})
        check(v.version == str(n), "version %s is number %d" % (v.version, n))
    m = call(client.get_registered_model, NAME)
    check(m.tags == {"team": "bench"}, "model tags %r" % m.tags)

    call(client.transition_model_version_stage, NAME, "1", "Production")
    call(client.transition_model_version_stage, NAME, "2", "Staging")
    v = call(client.transition_model_version_stage, NAME, "3", "Production", archive_existing_versions=True)
    check(v.current_stage == "Production", "version 3 in Production")
    check(call(client.get_model_version, NAME, "1").current_stage == "Archived", "version 1 archived")
    latest = call(client.get_latest_versions, NAME, stages=["Production"])
    check([x.version for x in latest] == ["3"], "latest Production %r" % [x.version for x in latest])

    call(client.set_registered_model_alias, NAME, "champion", "3")
    v = call(client.get_model_version_by_alias, NAME, "champion")
    check(v.version == "3" and "champion" in v.aliases, "champion is version 3")
    uri3 = call(client.get_model_version_download_uri, NAME, "3")
    check(uri3 == "s3://bench/e2e/model-3.tgz", "download URI %r" % uri3)

    found = call(client.search_model_versions, "name='%s'" % NAME)
    check(len(found) == E2E_VERSIONS, "%d versions found" % len(found))
    found = call(client.search_model_versions, "name='%s' AND run_id='r1'" % NAME)
    check(len(found) == E2E_VERSIONS // 2, "%d r1 versions found" % len(found))
    seen, token = [], None
    while True:
        page = call(client.search_model_versions, "name='%s'" % NAME, max_results=10, page_token=token)
        seen += [x.version for x in page]
        token = page.token
        if not token:
            break
    check(sorted(seen, key=int) == [str(n) for n in range(1, E2E_VERSIONS + 1)], "paged versions")
    models = call(client.search_registered_models, filter_string="name LIKE 'e2e%'")
    check([x.name for x in models] == [NAME], "models like e2e%%: %r" % [x.name for x in models])
    seen, token = 0, None
    while True:
        page = call(client.search_registered_models, max_results=50, page_token=token)
        seen += len(page)
        token = page.token
        if not token:
            break
    check(seen >= 1, "paged model search")

    call(client.update_model_version, NAME, "3", description="the champion")
    call(client.set_model_version_tag, NAME, "3", "validated", "true")
    call(client.set_registered_model_tag, NAME, "owner", "bench")
    v = call(client.get_model_version, NAME, "3")
    check(v.description == "the champion" and v.tags.get("validated") == "true", "version 3 updated")

    call(client.delete_registered_model_alias, NAME, "champion")
    try:
        call(client.get_model_version_by_alias, NAME, "champion")
        check(False, "a deleted alias still resolves")
    except MlflowException as e:
        expect_error(e, "INVALID_PARAMETER_VALUE", "get_model_version_by_alias(%r, 'champion') after the alias was deleted" % NAME)
    for n in range(E2E_VERSIONS - 4, E2E_VERSIONS + 1):
        call(client.delete_model_version, NAME, str(n))
    found = call(client.search_model_versions, "name='%s'" % NAME)
    check(len(found) == E2E_VERSIONS - 5, "%d versions after deletes" % len(found))
    call(client.delete_registered_model, NAME)
    try:
        call(client.get_registered_model, NAME)
        check(False, "a deleted model is still there")
    except MlflowException as e:
        expect_error(e, "RESOURCE_DOES_NOT_EXIST", "get_registered_model(%r) after the model was deleted" % NAME)

    seconds = time.perf_counter() - t0
    print("E2E_RESULT seconds=%.3f calls=%d import_s=%.3f" % (seconds, calls, import_s))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - report any failure in one line and exit non-zero
        sys.stderr.write("end-to-end client script failed after %d calls: %s: %s\n" % (calls, type(e).__name__, e))
        sys.exit(1)

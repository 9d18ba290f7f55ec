"""Workflows on GCPBatchExecutor through covalent_core's public API.

Storage is the fake-gcs-server emulator. Batch is a fake (Google has no Batch
emulator): covalent_testing.gcp_batch serves the REST API to the real
google-cloud-batch client and runs each job's container entrypoint as a local
process, so every task really runs through the package, the runner and the bucket.
The scenarios are the cloud executors' shared ones (covalent_testing.cloud_workflows).
"""

from __future__ import annotations

from covalent_gcp.executor import GCPBatchExecutor
from covalent_testing.cloud_workflows import CloudBackend, CloudWorkflows


class TestGCPBatchWorkflows(CloudWorkflows):
    # A job handle's "job" is the job's full resource name; ListJobs and CreateJob share
    # its collection route, and DeleteJob both stops a job and removes it.
    backend = CloudBackend(
        executor=GCPBatchExecutor, name="gcpbatch", collection="/jobs", created=200,
        deletes_finished=False, local_key=lambda handle: handle["job"],
        stop_request=lambda handle: ("DELETE", f"/v1/{handle['job']}", 200),
        bad_settings=(
            ("container_image_uri", "", "container_image_uri"),
            ("bucket_name", "no-such-bucket", "bucket_name='no-such-bucket' does not exist"),
        ),
    )

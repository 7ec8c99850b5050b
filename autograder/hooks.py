"""Every private (underscore) or undocumented name of nbgrader, nbclient, nbconvert and
jupyter_client that the tooling overrides, calls or swaps, in one list, with the versions it was
checked against (constraints.txt). A new version of one of these packages may rename or drop
any of them without notice: tests/test_hooks.py resolves each one and fails, naming it, when it
is gone, before a grading run could misbehave.

Each entry: (the object, as "module:attribute.path"; where the tooling uses it; how).
"""
from __future__ import annotations

import importlib

CHECKED_WITH = {"nbgrader": "0.9.6", "nbclient": "0.11.0", "nbconvert": "7.17.2",
                "jupyter_client": "8.10.0"}

HOOKS: tuple[tuple[str, str, str], ...] = (
    # The jailed kernel (execution/guarded_execute.py: SandboxedKernelManager)
    ("jupyter_client.manager:AsyncKernelManager._async_launch_kernel", "guarded_execute",
     "overridden: the kernel starts in its cgroup and jail, its output into a pipe"),
    ("jupyter_client.manager:AsyncKernelManager._async_post_start_kernel", "guarded_execute",
     "overridden: the kernel's socket directory is sealed before the client connects"),
    ("jupyter_client.manager:AsyncKernelManager._async_cleanup_resources", "guarded_execute",
     "overridden (and aliased as cleanup_resources, the name nbclient calls): cgroup and "
     "sockets removed with the kernel"),
    ("jupyter_client.manager:KernelManager.cleanup_resources", "guarded_execute",
     "called by nbclient when the kernel shuts down"),
    ("jupyter_client.manager:KernelManager.provisioner", "guarded_execute",
     "read after launch: provisioner.process is the kernel's Popen"),
    ("jupyter_client.provisioning.local_provisioner:LocalProvisioner.process", "guarded_execute",
     "the kernel's process, killed and waited for on release"),
    # Executing cells (execution/guarded_execute.py: GuardedExecute, nbgrader's Execute on nbclient)
    ("nbclient.client:NotebookClient._get_timeout", "guarded_execute",
     "overridden: a cell's timeout never goes past the submission's wall deadline"),
    ("nbclient.client:NotebookClient._display_id_map", "guarded_execute",
     "read: how many outputs a display update rewrites (output limits)"),
    ("nbclient.client:NotebookClient.wait_for_reply", "guarded_execute",
     "called: the reply to a test's probe request"),
    ("nbclient.client:NotebookClient.process_message", "guarded_execute",
     "overridden: every message counted against the output limits"),
    ("nbclient.client:NotebookClient.on_cell_executed", "guarded_execute",
     "overridden: the reply's error counts against the output limits"),
    ("nbclient.client:NotebookClient.reset_execution_trackers", "guarded_execute",
     "overridden: a fresh output ledger per notebook"),
    ("nbgrader.preprocessors:Execute.preprocess_cell", "guarded_execute",
     "overridden: test cells become probes, skipped cells do not run, a stop stops the rest"),
    # Feedback pages (grading/feedback.py: FeedbackExporter)
    ("nbconvert.exporters.html:BeautifulSoup", "feedback",
     "swapped for the time of one page: the exporter's last pass re-parses the whole page"),
    ("nbconvert.exporters.html:HTMLExporter._init_resources", "feedback",
     "overridden: sanitising always on"),
    ("nbconvert.exporters.templateexporter:TemplateExporter._create_environment", "feedback",
     "overridden: compiled templates kept for the process"),
    ("nbconvert.exporters.exporter:Exporter._preprocess", "feedback",
     "overridden: grade ids escaped, the page kept within its size"),
    # The gradebook (authoring/build.py: nbgrader_api)
    ("nbgrader.api:get_alembic_version", "build",
     "replaced: the schema's head read from nbgrader's migration scripts (3 s saved per gradebook)"),
    ("nbgrader.api:create_engine", "build",
     "replaced: one engine per gradebook URL for the process, so that SQL is compiled once"),
)


def resolve(hook: str):
    """The object a hook names ("module:attribute.path"); ImportError or AttributeError if it is gone."""
    module_name, _, path = hook.partition(":")
    value = importlib.import_module(module_name)
    for attribute in path.split("."):
        value = getattr(value, attribute)
    return value

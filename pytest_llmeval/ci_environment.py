"""What a CI job's environment tells a run: whether it is one, and the run id it gives.

Read by ``settings.py`` only, once, at configure.
"""

from __future__ import annotations

from collections.abc import Mapping

from pytest_llmeval.constants import ENV_RUN_ID
from pytest_llmeval.option_spec import OptionError

#: A run id names its history file (with the time, the mode and a hash) and shows in every
#: report: a longer one made a name past the file system's 255 bytes, and the run's history
#: was not written.
MAX_RUN_ID = 100


def checked_run_id(value: str | None) -> str | None:
    """``LLMEVAL_RUN_ID`` as a CI job sets it (``$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT``): a
    newline in it would start a heading of its own in the Markdown report."""
    if value is None or (len(value) <= MAX_RUN_ID and value.isprintable()):
        return value
    what = "control characters" if not value.isprintable() else f"{len(value)} characters"
    raise OptionError(
        f"{ENV_RUN_ID}: a run id is at most {MAX_RUN_ID} characters with no control "
        f"characters; this one has {what}"
    )


#: CI systems that do not set ``CI``, each by a variable only its builds have: Jenkins,
#: Azure Pipelines, AWS CodeBuild, TeamCity. (GitHub, GitLab, Buildkite, CircleCI, Travis,
#: Bitbucket and most others set ``CI=true``.)
CI_MARKERS = ("JENKINS_URL", "TF_BUILD", "CODEBUILD_BUILD_ID", "TEAMCITY_VERSION")


def is_ci(environ: Mapping[str, str]) -> bool:
    """``CI`` set to anything but an explicit no (GitHub, GitLab and others set ``CI=true``);
    where ``CI`` is unset or empty, a CI system that never sets it.

    Under CI, auto mode never records: a build with a key (for a nightly live job) would
    otherwise record what its cassettes miss, spending on every run and keeping nothing.
    """
    value = environ.get("CI", "").strip().lower()
    if value:
        return value not in ("0", "false", "no", "off")
    return any(environ.get(name, "").strip() for name in CI_MARKERS)

"""One option: how it is declared (``Option``), read from its sources (``resolve``) and told to
argparse (``flag_arguments``), for pytest's parser and the ``llmeval`` command alike.

Precedence, for every option that has the source:

    command line > environment > ini > default

A relative path from the command line is relative to where the command runs; from the ini or
the default, to the rootdir. Errors are ``ValueError``s whose message names where the bad
text came from; ``settings.py`` turns them into pytest usage errors. Importing this imports
neither pytest nor the SDK.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, cast

T = TypeVar("T")

if TYPE_CHECKING:  # a Protocol class is typing alone here: not built in every pytest run
    from typing import Protocol

    class Sources(Protocol):
        """Where values come from: pytest's config (``settings.py``) or the ``llmeval`` command."""

        @property
        def rootdir(self) -> Path: ...

        @property
        def environ(self) -> Mapping[str, str]: ...

        def flag(self, dest: str) -> Any:
            """The parsed flag value; ``None`` when not given."""

        def ini(self, key: str) -> str:
            """A string key's value, stripped; ``""`` when unset."""

        def ini_lines(self, key: str) -> Sequence[str]:
            """A ``linelist`` key's lines."""


class Option(Generic[T]):
    """One setting: where it may be given, how its text is read, and its value when it is not.

    A plain class with ``__slots__``, read-only to mypy (``Final``): the table builds thirty of
    these in every pytest run, and a frozen dataclass generating and compiling its methods at
    import cost a plain suite more than all the rest of declaring the options (issue 14).
    """

    __slots__ = (
        "action",
        "command_flag",
        "command_help",
        "default",
        "dest",
        "env",
        "flag",
        "flag_type",
        "help",
        "ini",
        "ini_error",
        "ini_help",
        "metavar",
        "off_flag",
        "off_help",
        "parse",
        "parse_lines",
        "under_rootdir",
    )

    def __init__(
        self,
        *,
        dest: str,
        default: T,
        flag: str | None = None,
        help: str = "",
        metavar: str | None = None,
        action: str | None = None,
        off_flag: str | None = None,
        off_help: str = "",
        env: str | None = None,
        ini: str | None = None,
        ini_help: str = "",
        parse: Callable[[str], T] | None = None,
        flag_type: Callable[[str], T | None] | None = None,
        parse_lines: Callable[[Sequence[str]], T] | None = None,
        under_rootdir: bool = False,
        ini_error: str = "ini {key}: {error}",
        command_flag: str | None = None,
        command_help: str = "",
    ) -> None:
        #: The argparse ``dest`` of its flags, and the entry's name when it has none.
        self.dest: Final = dest
        self.default: Final = default
        self.flag: Final = flag
        self.help: Final = help
        self.metavar: Final = metavar
        #: argparse ``action`` of a flag that takes no value (``store_true``).
        self.action: Final = action
        #: A second flag that sets the opposite (``--llmeval-no-cache``), and its help.
        self.off_flag: Final = off_flag
        self.off_help: Final = off_help
        self.env: Final = env
        self.ini: Final = ini
        self.ini_help: Final = ini_help
        #: Text of the env var or ini key -> value; the flag's too unless ``flag_type`` is given.
        self.parse: Final = parse
        #: The flag's argparse ``type=`` where the command line reads differently; ``None`` from
        #: it means "not given" (an empty path flag leaves the ini to decide).
        self.flag_type: Final = flag_type
        #: Makes the ini key a ``linelist``: its non-blank lines -> value.
        self.parse_lines: Final = parse_lines
        #: A relative path from the ini or the default is under the rootdir.
        self.under_rootdir: Final = under_rootdir
        #: How a bad ini value is reported; ``{key}`` and ``{error}`` are filled in.
        self.ini_error: Final = ini_error
        #: The ``llmeval`` command's flag for the same setting, and its help (the default is
        #: added).
        self.command_flag: Final = command_flag
        self.command_help: Final = command_help

    def __repr__(self) -> str:
        return f"Option(dest={self.dest!r}, default={self.default!r})"

    @property
    def ini_type(self) -> str:
        return "linelist" if self.parse_lines is not None else "string"


class OptionError(ValueError):
    """A bad value from the environment or the ini; the message names where it came from."""


def _placed(option: Option[T], value: T, sources: Sources, *, from_ini: bool = False) -> T:
    if option.under_rootdir and isinstance(value, Path):
        # Only Path-valued entries set under_rootdir: the joined path is still a T.
        placed = sources.rootdir / value
        said = f"{option.ini} = {value}" if from_ini else None
        _check_inside(option, placed, sources.rootdir, said)
        return cast(T, placed)
    return value


def _check_inside(option: Option[Any], placed: Path, rootdir: Path, said: str | None) -> None:
    """An ini file (its keys, its ``addopts``) or a default path comes with the project, and
    in a pull request from anyone: a path it gives, once links are followed, stays in the
    project. Otherwise it could name ``~/.bashrc`` as a report to overwrite, ``/tmp`` as a
    cache to make private, or a committed link ``.llmeval -> ~/.ssh`` a place to write. A
    path typed on the command line or set in the environment is the user's own choice.

    ``said``: how the ini gave the path; ``None`` for the default."""
    top = os.path.realpath(rootdir)
    # The directory it is in, links followed: the last name may itself be a link, which the
    # writers handle (a file is renamed over the link, not written through it; a cache or
    # history directory that is a link is not used, with a warning).
    last = placed.name
    real = os.path.realpath(placed if last in ("", ".", "..") else placed.parent)
    if os.path.commonpath([top, real]) == top:
        return
    real = os.path.realpath(placed)
    elsewhere = ""
    if option.flag:
        elsewhere = f"; give {option.flag} on the command line for a place outside"
    if said is not None:
        raise OptionError(
            f"{said}: outside the project ({top}); a path from the ini file must stay in it"
            f"{elsewhere}"
        )
    raise OptionError(
        f"{placed} leads outside the project, to {real}, through a symbolic link: remove the "
        f"link, or set {option.ini} to a path in the project{elsewhere}"
    )


def _short(error: Exception) -> str:
    """An error quoting the value as given: an ini line of megabytes is one line of a
    message; its start and its end (what was expected) say enough."""
    text = str(error)
    return text if len(text) <= 300 else f"{text[:150]} ... {text[-120:]}"


def from_flag(option: Option[T], sources: Sources) -> T | None:
    if option.flag is None:
        return None
    value = cast("T | None", sources.flag(option.dest))
    # ``addopts`` in the ini file is the ini file: a path flag it gives stays in the project.
    from_ini_file = getattr(sources, "flag_from_ini_file", None)
    if (
        option.under_rootdir
        and isinstance(value, Path)
        and from_ini_file is not None
        and from_ini_file(option.flag)
    ):
        said = f"{option.flag}={value} in the ini file's addopts"
        _check_inside(option, Path.cwd() / value, sources.rootdir, said)
    return value


def from_env(option: Option[T], sources: Sources) -> T | None:
    if option.env is None or option.parse is None:
        return None
    text = sources.environ.get(option.env, "").strip()
    if not text:
        return None
    try:
        return option.parse(text)
    except ValueError as exc:
        raise OptionError(f"{option.env}: {_short(exc)}") from None


def from_ini(option: Option[T], sources: Sources) -> T | None:
    if option.ini is None:
        return None
    value: T | None = None
    try:
        if option.parse_lines is not None:
            lines = sources.ini_lines(option.ini)
            value = option.parse_lines(lines) if lines else None
        elif option.parse is not None:
            text = sources.ini(option.ini)
            value = option.parse(text) if text else None
    except ValueError as exc:
        raise OptionError(option.ini_error.format(key=option.ini, error=_short(exc))) from None
    return None if value is None else _placed(option, value, sources, from_ini=True)


def resolve(option: Option[T], sources: Sources) -> T:
    """Command line > environment > ini > default; only the sources asked for are read."""
    for source in (from_flag, from_env, from_ini):
        value = source(option, sources)
        if value is not None:
            return value
    return _placed(option, option.default, sources)


def argument_type(parser: Callable[[str], T]) -> Callable[[str], T]:
    """``parser`` as an argparse ``type``: argparse shows an ``ArgumentTypeError``'s message as
    it is, other errors as 'invalid', so a ``ValueError``'s own words become the former."""

    def argument(text: str) -> T:
        try:
            return parser(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    argument.__name__ = getattr(parser, "__name__", "value")
    return argument


def flag_arguments(option: Option[Any]) -> dict[str, Any]:
    """``add_argument`` keywords of the option's flag, for pytest's parser and argparse alike."""
    # A flag not given is None, store_true ones too: resolve() then asks the environment, the
    # ini, the default, so a source added to an entry later is not hidden by a flag's False.
    arguments: dict[str, Any] = {"dest": option.dest, "default": None, "help": option.help}
    if option.action is not None:
        return {**arguments, "action": option.action}
    arguments["metavar"] = option.metavar
    reader = option.flag_type or option.parse
    if reader is not None:
        arguments["type"] = argument_type(reader)
    return arguments


def command_arguments(option: Option[Any]) -> dict[str, Any]:
    """The ``llmeval`` command's keywords for ``option.command_flag``.

    ``SUPPRESS`` leaves the option absent unless given, so a value given before a sub-command
    is not overwritten by the sub-command's default after it.
    """
    default = option.default
    shown = default.as_posix() if isinstance(default, Path) else default
    return {
        **flag_arguments(option),
        "default": argparse.SUPPRESS,
        "help": f"{option.command_help} (default: ini {option.ini}, else {shown} under the "
        "rootdir)",
    }

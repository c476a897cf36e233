import datetime
import os
from typing import Any, ClassVar, List, Optional, Union

from dialout.pycall.actions import Action
from dialout.pycall.call import Call

_Path = Union[str, "os.PathLike[str]"]

class CallFile:
    DEFAULT_SPOOL_DIR: ClassVar[str]
    call: Call
    action: Action
    archive: Any
    filename: _Path
    tempdir: Optional[_Path]
    user: Optional[str]
    spool_dir: _Path
    mode: int
    max_line: int
    allow_set_functions: bool
    durable: bool
    def __init__(
        self,
        call: Call,
        action: Action,
        archive: Optional[bool] = None,
        filename: Optional[_Path] = None,
        tempdir: Optional[_Path] = None,
        user: Optional[str] = None,
        spool_dir: Optional[_Path] = None,
        *,
        mode: int = 0o600,
        max_line: int = 255,
        allow_set_functions: bool = False,
        durable: bool = False,
    ) -> None: ...
    def is_valid(self) -> bool: ...
    @property
    def contents(self) -> str: ...
    def buildfile(self) -> List[str]: ...
    def writefile(self) -> str: ...
    def spool(self, time: Optional[Union[datetime.datetime, datetime.date]] = None) -> str: ...

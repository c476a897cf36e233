from typing import Any, Tuple, Union

class Action:
    def render(self) -> Tuple[str, ...]: ...

class Application(Action):
    application: Any
    data: Any
    def __init__(self, application: str, data: str) -> None: ...
    def render(self) -> Tuple[str, str]: ...

class Context(Action):
    context: Any
    extension: Any
    priority: Any
    def __init__(self, context: str, extension: str, priority: Union[str, int]) -> None: ...
    def render(self) -> Tuple[str, str, str]: ...

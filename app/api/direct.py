"""Routes of the decision path, served without FastAPI's per-request dependency solving.

FastAPI still reads the endpoint's signature for the OpenAPI document. At request time the
endpoint's dependencies are called with the request alone, in their order, then its body is
validated straight from the bytes by its type. Measured by `make bench`: FastAPI's general
request handler costs about as much as a whole decision.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette.exceptions import HTTPException

from app.api.problems import is_json, media_type_of

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


async def json_body(request: Request, adapter: TypeAdapter[Any]) -> Any:
    """The request's JSON body validated by `adapter`, with the errors FastAPI would give:
    415 for another media type, a `RequestValidationError` (its locations under "body") else."""
    media_type = media_type_of(request)
    if media_type and not is_json(media_type):
        raise HTTPException(415, "The body must be application/json.")
    raw = await request.body()
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    try:
        return adapter.validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from error


class DirectRoute(APIRoute):
    """An APIRoute whose endpoint takes the request, dependencies that need only the request
    (async, called in order: authentication before the body), and one JSON body."""

    def get_route_handler(self) -> Handler:
        dependant = self.dependant
        if dependant.path_params or dependant.query_params or dependant.header_params:
            raise TypeError(f"{self.path}: a direct route takes no path, query or header values")
        (body,) = dependant.body_params
        if body.field_info.annotation is None:
            raise TypeError(f"{self.path}: the body needs a type")
        adapter: TypeAdapter[Any] = TypeAdapter(body.field_info.annotation)
        dependencies: list[tuple[str, Callable[[Request], Coroutine[Any, Any, Any]]]] = []
        for dependency in dependant.dependencies:
            name, call = dependency.name, dependency.call
            if name is None or call is None or not inspect.iscoroutinefunction(call):
                raise TypeError(f"{self.path}: dependency {name} must be a named async function")
            dependencies.append((name, call))
        request_name = dependant.request_param_name
        if request_name is None:
            raise TypeError(f"{self.path}: a direct route's endpoint takes the request")
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            values: dict[str, Any] = {request_name: request}
            for name, call in dependencies:
                values[name] = await call(request)
            values[body.name] = await json_body(request, adapter)
            response: Response = await endpoint(**values)
            return response

        return handler

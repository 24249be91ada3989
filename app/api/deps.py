"""Dependencies of the API routes: sessions, the context, the calling client."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.auth.deps import require_scope
from app.auth.principals import ClientPrincipal
from app.web.deps import ContextDep, ReadSession, WriteSession

__all__ = ["ContextDep", "ReadSession", "WriteSession"]

Decider = Annotated[ClientPrincipal, Depends(require_scope("decisions"))]
AnyClient = Annotated[ClientPrincipal, Depends(require_scope())]
CustomerReader = Annotated[ClientPrincipal, Depends(require_scope("customers:read"))]
CustomerWriter = Annotated[ClientPrincipal, Depends(require_scope("customers:write"))]
CustomerEraser = Annotated[ClientPrincipal, Depends(require_scope("customers:erase"))]
PreferenceReader = Annotated[ClientPrincipal, Depends(require_scope("preferences:read"))]
PreferenceWriter = Annotated[ClientPrincipal, Depends(require_scope("preferences:write"))]
SuppressionWriter = Annotated[ClientPrincipal, Depends(require_scope("suppressions:write"))]
ChangesReader = Annotated[ClientPrincipal, Depends(require_scope("changes:read"))]
AuditReader = Annotated[ClientPrincipal, Depends(require_scope("audit:read"))]

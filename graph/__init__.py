"""Microsoft Graph online-meetings client. Knows nothing of Teams chats or bots."""

from graph.client import GraphClient
from graph.errors import (
    GraphBadRequest,
    GraphConflict,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphOutcomeUnknown,
    GraphThrottled,
    GraphUnauthorized,
    GraphUnavailable,
    GraphUnreachable,
    GraphWrongAudience,
)
from graph.models import OnlineMeeting, OnlineMeetingRequest

__all__ = [
    "GraphBadRequest",
    "GraphClient",
    "GraphConflict",
    "GraphError",
    "GraphForbidden",
    "GraphNotFound",
    "GraphOutcomeUnknown",
    "GraphThrottled",
    "GraphUnauthorized",
    "GraphUnavailable",
    "GraphUnreachable",
    "GraphWrongAudience",
    "OnlineMeeting",
    "OnlineMeetingRequest",
]

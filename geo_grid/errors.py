"""Domain errors and the one table that maps them to HTTP status codes and stable error codes."""

from __future__ import annotations

from typing import Any


class GeoGridError(Exception):
    """Base of every error the service reports to a client: a stable `code`, a human message, detail."""

    code = "error"
    status = 400

    def __init__(self, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return body


# The table: each domain error with its stable code and HTTP status. Add new ones here only.


class NotAuthenticated(GeoGridError):
    """No or unknown bearer token."""

    code, status = "not_authenticated", 401


class Forbidden(GeoGridError):
    """The token's role may not do this."""

    code, status = "forbidden", 403


class DistrictReadOnly(GeoGridError):
    """A district/city-level principal (no subdistrict) that is not admin tried to change data."""

    code, status = "district_read_only", 403


class LoginFailed(GeoGridError):
    """Unknown login, wrong password or disabled account (one answer for all: logins cannot be probed)."""

    code, status = "login_failed", 401


class AccountLocked(GeoGridError):
    """Too many failed logins: the account is locked for settings.login_lockout_s."""

    code, status = "account_locked", 423


class CsrfFailed(GeoGridError):
    """A state-changing request made with the session cookie without its CSRF token (or a wrong one)."""

    code, status = "csrf_failed", 403


class TrackingCodeInvalid(GeoGridError):
    """A resident's action on a report without (or with a wrong) tracking code of that report."""

    code, status = "tracking_code_invalid", 403


class NotYourGrid(GeoGridError):
    """A grid worker acts on a report outside the grids where their person holds a role (or is not linked
    to a person of the roster at all)."""

    code, status = "not_your_grid", 403


class NotFound(GeoGridError):
    """A resource does not exist."""

    code, status = "not_found", 404


class GridNotFound(GeoGridError):
    """No grid has this code."""

    code, status = "grid_not_found", 404


class GenerationNotFound(GeoGridError):
    """No such generation."""

    code, status = "generation_not_found", 404


class ReportNotFound(GeoGridError):
    """No such report."""

    code, status = "report_not_found", 404


class FacilityNotFound(GeoGridError):
    """No such facility."""

    code, status = "facility_not_found", 404


class AddressNotFound(GeoGridError):
    """No standard address matches."""

    code, status = "address_not_found", 404


class PhotoNotFound(GeoGridError):
    """No such photo, or not one the caller may see."""

    code, status = "photo_not_found", 404


class ReporterPhotoRefused(GeoGridError):
    """The reporter may no longer add a photo (the report was taken up, or it has enough photos)."""

    code, status = "reporter_photo_refused", 409


class InvalidInput(GeoGridError):
    """Input that parses but makes no sense."""

    code, status = "invalid_input", 422


class InvalidParameter(GeoGridError):
    """A query parameter of an OGC API – Features request that is malformed or unknown (the standard: 400)."""

    code, status = "invalid_parameter", 400


class InvalidCoordinates(GeoGridError):
    """NaN, infinite or out of range."""

    code, status = "invalid_coordinates", 422


class InvalidBoundary(GeoGridError):
    """A geometry that may not be stored."""

    code, status = "invalid_boundary", 422


class ImportFailed(GeoGridError):
    """A file could not be imported; nothing changed."""

    code, status = "import_failed", 422


class Conflict(GeoGridError):
    """The request conflicts with the current state."""

    code, status = "conflict", 409


class InvalidTransition(GeoGridError):
    """Not an allowed next state."""

    code, status = "invalid_transition", 409


class ValidationFailed(GeoGridError):
    """Errors block activation."""

    code, status = "validation_failed", 409


class PreconditionFailed(GeoGridError):
    """Stale If-Match ETag."""

    code, status = "precondition_failed", 412


class PreconditionRequired(GeoGridError):
    """If-Match is required."""

    code, status = "precondition_required", 428


class PayloadTooLarge(GeoGridError):
    """Too many items in one request."""

    code, status = "payload_too_large", 413


class UnsupportedFormat(GeoGridError):
    """An upload that is not one of the accepted file formats (or could make GDAL read elsewhere)."""

    code, status = "unsupported_format", 415


class InvalidImage(GeoGridError):
    """An upload that claims to be a photo but is not a JPEG, PNG or WebP that decodes within the limits."""

    code, status = "invalid_image", 415


class QueryTooLong(GeoGridError):
    """An address query longer than settings.max_query_chars (a batch reports it per query)."""

    code, status = "query_too_long", 422


class RateLimited(GeoGridError):
    """Too many requests of one kind from one caller; `Retry-After` says when to try again."""

    code, status = "rate_limited", 429


class ServiceUnavailable(GeoGridError):
    """A dependency is down."""

    code, status = "service_unavailable", 503


class MapAssetsMissing(GeoGridError):
    """The maps' local JavaScript/CSS is not installed (`make setup` runs npm ci in maps/)."""

    code, status = "map_assets_missing", 503

"""Logging in and out, first-time setup, users, passwords and API tokens."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g, jsonify, request

from gateway import __version__

from ..auth import same
from ..context import LOGIN_COOKIE, SESSION_COOKIE, UiContext
from .endpoint import ApiError, Endpoint, principal


def _cookie(resp: Response, name: str, value: str, max_age: int | None) -> None:
    resp.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Strict", secure=request.is_secure, path="/")


def _client() -> str:
    return request.remote_addr or "unknown"


def session_get(ctx: UiContext, args, body):
    p = g.principal
    out: dict[str, Any] = {
        "authenticated": p is not None,
        "setup_required": ctx.setup_code is not None and ctx.accounts().count_admins() == 0,
        "timezone": ctx.timezone,
        "language": ctx.config.ui.language,  # the dashboard's default until the browser picks one
        "version": __version__,
    }
    if p is not None:
        out.update(user=p.username, role=p.role, csrf=p.csrf)
        return jsonify(out)
    token = request.cookies.get(LOGIN_COOKIE)
    if not token or len(token) < 32:
        import secrets

        token = secrets.token_urlsafe(32)
    out["csrf"] = token
    resp = jsonify(out)
    _cookie(resp, LOGIN_COOKIE, token, 3600)
    return resp


def _logged_in(ctx: UiContext, user: dict, status: int = 200) -> Response:
    sid, csrf = ctx.accounts().open_session(user["id"])
    resp = jsonify(user=user["username"], role=user["role"], csrf=csrf)
    resp.status_code = status
    _cookie(resp, SESSION_COOKIE, sid, 30 * 86_400)
    resp.delete_cookie(LOGIN_COOKIE, path="/")
    return resp


LOGIN_FREE_PER_ADDRESS = 10  # wrong logins from one address over every username before it waits


def _too_many(wait: int, what: str) -> ApiError:
    return ApiError(429, f"too many {what}; try again in {wait} s", {"Retry-After": str(wait)})


def session_post(ctx: UiContext, args, body):
    username, password = body["username"], body["password"]
    # Per user at this address, and per address: never per user alone, or any device could lock
    # the household's admin out everywhere.
    pair = f"login:{username.lower()}@{_client()}"
    wait = ctx.limiter.attempt(pair, (f"login-from:{_client()}", LOGIN_FREE_PER_ADDRESS))
    if wait:
        raise _too_many(wait, "failed logins")
    user = ctx.accounts().verify(username, password)
    if user is None:
        raise ApiError(401, "wrong username or password")
    ctx.limiter.succeeded(pair)
    return _logged_in(ctx, user)


def session_delete(ctx: UiContext, args, body):
    p = principal()
    if p.session_id:
        ctx.accounts().close_session(p.session_id)
    resp = jsonify(ok=True)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


def setup_post(ctx: UiContext, args, body):
    accounts = ctx.accounts()
    if ctx.setup_code is None or accounts.count_admins():
        raise ApiError(409, "setup is done: an admin exists; log in instead")
    key = f"setup:{_client()}"
    wait = ctx.limiter.attempt(key)
    if wait:
        raise _too_many(wait, "wrong setup codes")
    if not same(body["code"].strip().upper(), ctx.setup_code):
        raise ApiError(403, "wrong setup code: use the code printed in the gateway's log")
    ctx.limiter.succeeded(key)
    user = accounts.create_user(body["username"], body["password"], "admin", source="setup")
    ctx.setup_code = None
    return _logged_in(ctx, user, 201)


def users_list(ctx, args, body):
    return jsonify(users=ctx.accounts().users())


def users_create(ctx, args, body):
    return jsonify(ctx.accounts().create_user(body["username"], body["password"], body.get("role") or "viewer")), 201


def users_delete(ctx, args, body, user_id: int):
    if user_id == principal().user_id:
        raise ApiError(409, "you cannot delete yourself; ask another admin")
    ctx.accounts().delete_user(user_id)
    return jsonify(ok=True)


def password_put(ctx, args, body):
    """A stolen session must not become a way to guess the password: limited like a login."""
    p = principal()
    accounts = ctx.accounts()
    key = f"password:{p.user_id}"
    wait = ctx.limiter.attempt(key)
    if wait:
        raise _too_many(wait, "wrong current passwords")
    if accounts.verify(p.username, body["current_password"]) is None:
        raise ApiError(403, "current password is wrong")
    ctx.limiter.succeeded(key)
    revoked = accounts.set_password(p.user_id, body["new_password"])
    user = {"id": p.user_id, "username": p.username, "role": p.role}
    resp = _logged_in(ctx, user)
    resp.set_data(json.dumps(resp.get_json() | {"tokens_revoked": revoked}))
    return resp


def tokens_list(ctx, args, body):
    return jsonify(tokens=ctx.accounts().tokens())


def tokens_create(ctx, args, body):
    return jsonify(ctx.accounts().create_token(principal(), body["name"], body.get("role") or "viewer")), 201


def tokens_delete(ctx, args, body, token_id: int):
    ctx.accounts().revoke_token(token_id)
    return jsonify(ok=True)


_USERNAME = {"type": "string", "maxLength": 32}
_PASSWORD = {"type": "string", "maxLength": 256}
_ROLE = {"type": "string", "enum": ["admin", "viewer"]}
_LOGIN = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {"username": _USERNAME, "password": _PASSWORD},
}
_SETUP = {
    "type": "object",
    "required": ["code", "username", "password"],
    "properties": {"code": {"type": "string", "maxLength": 20}, "username": _USERNAME, "password": _PASSWORD},
}
_NEW_PASSWORD = {
    "type": "object",
    "required": ["current_password", "new_password"],
    "properties": {"current_password": _PASSWORD, "new_password": _PASSWORD},
}
_NEW_USER = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {"username": _USERNAME, "password": _PASSWORD, "role": _ROLE},
}
_NEW_TOKEN = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "maxLength": 64}, "role": _ROLE},
}

ROWS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/session",
        session_get,
        "Who is logged in, the CSRF token to send on writes, and whether first-time setup is needed",
        "auth",
        role=None,
    ),
    Endpoint(
        "POST",
        "/session",
        session_post,
        "Log in (rate-limited per user at an address and per address: "
        "after 5 failures (10 from one address over all users) each try waits 30 s, then 1, 2, 4, 8, 15 min: "
        "429 with Retry-After)",
        "auth",
        role=None,
        body=_LOGIN,
        login_csrf=True,
        errors=(401, 429),
    ),
    Endpoint("DELETE", "/session", session_delete, "Log out", "auth"),
    Endpoint(
        "POST",
        "/setup",
        setup_post,
        "First-time setup: create the admin with the one-time code from the gateway's log",
        "auth",
        role=None,
        login_csrf=True,
        body=_SETUP,
        status=(201,),
        errors=(409, 429),
    ),
    Endpoint(
        "PUT",
        "/me/password",
        password_put,
        "Change your own password: ends your other sessions and revokes "
        "your API tokens (tokens_revoked says how many); wrong current passwords are limited like logins",
        "auth",
        body=_NEW_PASSWORD,
        session_only=True,
        errors=(429,),
    ),
    Endpoint("GET", "/users", users_list, "Dashboard users", "auth", role="admin", session_only=True),
    Endpoint(
        "POST",
        "/users",
        users_create,
        "Add a user (admin or viewer)",
        "auth",
        role="admin",
        session_only=True,
        body=_NEW_USER,
        status=(201,),
        errors=(409,),
    ),
    Endpoint(
        "DELETE",
        "/users/<id:user_id>",
        users_delete,
        "Remove a user (never the last admin)",
        "auth",
        role="admin",
        session_only=True,
        errors=(409,),
    ),
    Endpoint("GET", "/tokens", tokens_list, "API tokens (never their secret)", "auth", role="admin", session_only=True),
    Endpoint(
        "POST",
        "/tokens",
        tokens_create,
        "Create an API token for scripts; the secret is shown once",
        "auth",
        role="admin",
        session_only=True,
        body=_NEW_TOKEN,
        status=(201,),
    ),
    Endpoint(
        "DELETE", "/tokens/<id:token_id>", tokens_delete, "Revoke an API token", "auth", role="admin", session_only=True
    ),
)

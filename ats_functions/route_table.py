"""Every HTTP route: (resource module, method, path, view). The app registers these without
importing the views (see __init__.py). Written by `make openapi` from the views' decorators:
edit the views, not this file."""

ROUTES = (
    ("admin", "GET", "/admin/outbox", "list_outbox"),
    ("applications", "GET", "/applications", "list_applications"),
    ("applications", "GET", "/applications/{application_id}", "get_application"),
    ("applications", "GET", "/applications/{application_id}/history", "get_history"),
    ("applications", "GET", "/jobs/{job_id}/applications", "list_job_applications"),
    ("applications", "POST", "/applications", "apply"),
    ("applications", "POST", "/applications/change-status", "change_status"),
    ("applications", "POST", "/applications/create", "apply"),
    ("applications", "POST", "/applications/{application_id}/transition", "transition"),
    ("auth", "GET", "/auth/me", "me"),
    ("auth", "PATCH", "/auth/me", "update_me"),
    ("auth", "POST", "/auth/login", "login"),
    ("auth", "POST", "/auth/register", "register"),
    ("jobs", "DELETE", "/jobs/{job_id}", "delete_job"),
    ("jobs", "GET", "/jobs", "list_jobs"),
    ("jobs", "GET", "/jobs/list", "list_jobs"),
    ("jobs", "GET", "/jobs/{job_id}", "get_job"),
    ("jobs", "POST", "/jobs", "create_job"),
    ("jobs", "POST", "/jobs/create", "create_job"),
    ("jobs", "PUT", "/jobs/{job_id}", "update_job"),
    ("system", "GET", "/docs", "docs"),
    ("system", "GET", "/docs/redoc.standalone.js", "docs_script"),
    ("system", "GET", "/health", "health"),
    ("system", "GET", "/openapi.json", "openapi"),
    ("system", "GET", "/ping", "ping"),
    ("system", "GET", "/ping/ping", "ping"),
)

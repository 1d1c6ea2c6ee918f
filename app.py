"""The ATS API: one Chalice app answering the routes of ats_functions (one module per resource)."""

from chalice import Chalice

from ats_functions import register_all

app = Chalice(app_name="ats")
register_all(app)

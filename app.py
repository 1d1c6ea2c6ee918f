"""The ATS API: one Chalice app whose views live in the blueprints of ats_functions."""
from chalice import Chalice

from ats_functions import register_all

app = Chalice(app_name="ats")
register_all(app)

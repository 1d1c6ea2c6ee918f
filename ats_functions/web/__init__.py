"""What every view shares, one concern a module (ats_functions/http.py is the façade the views import).

errors       the error shape, and the status each domain error answers
contract     what one endpoint takes and gives (Contract)
request      the request read once into a Call, its body and query validated
auth         the caller: the bearer token verified, the account and role checked
idempotent   a retried create answered with its first response (Idempotency-Key)
render       the models views render with, and the response a view's body becomes (ETag, 304)
registry     the views of a resource wrapped in their contract (Routes, Handler)
middleware   around every request: request id, log line, security and CORS headers
"""

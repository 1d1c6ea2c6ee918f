"""Pipelines: a job's stages and funnel, pipeline templates, rejection reasons."""

from chalicelib.domain.models import Role
from chalicelib.schemas.pipelines import (
    FunnelEnvelope,
    FunnelOut,
    ListQuery,
    ReasonEnvelope,
    ReasonOut,
    ReasonPage,
    ReasonRequest,
    ReasonUpdateRequest,
    StageList,
    StageOut,
    StagesRequest,
    TemplateEnvelope,
    TemplateOut,
    TemplatePage,
    TemplateRequest,
)
from chalicelib.services import pipelines
from chalicelib.services.pipelines import StageWanted

from .http import Routes, render, render_list, render_page

routes = Routes(tag="pipelines", auth="required")
ADMIN = (Role.ADMIN,)


def _wanted(stages) -> list[StageWanted]:
    return [StageWanted(s.name, s.kind, getattr(s, "id", None), s.email_template) for s in stages]


@routes.get("/jobs/{job_id}/stages", returns=StageList, errors=(403, 404))
def get_stages(call, job_id):
    """The job's pipeline, in order"""
    return render_list(StageOut, pipelines.get_stages(call.context(), job_id))


@routes.put("/jobs/{job_id}/stages", returns=StageList, if_match=True, errors=(403, 404, 409))
def replace_stages(call, job_id, body: StagesRequest):
    """Replace the pipeline: ids kept when given; a stage holding applications stays (409 stage_in_use)"""
    stages = pipelines.replace_stages(call.context(), job_id, _wanted(body.stages), if_match=call.if_match())
    return render_list(StageOut, stages)


@routes.get("/jobs/{job_id}/funnel", returns=FunnelEnvelope, errors=(403, 404))
def get_funnel(call, job_id):
    """Applications per stage now and ever, median time in stage, outcomes (from counters)"""
    return {"funnel": render(FunnelOut, pipelines.get_funnel(call.context(), job_id))}


@routes.get("/pipeline-templates", roles=ADMIN, returns=TemplatePage)
def list_templates(call, params: ListQuery):
    """Pipeline templates, oldest first (admin)"""
    return render_page(TemplateOut, pipelines.list_templates(call.context(), **params.model_dump()))


@routes.post("/pipeline-templates", roles=ADMIN, returns=TemplateEnvelope, status=201)
def create_template(call, body: TemplateRequest):
    """A pipeline template, for template_id on job create (admin)"""
    template = pipelines.create_template(call.context(), name=body.name, stages=_wanted(body.stages))
    return {"pipeline_template": render(TemplateOut, template)}


@routes.get("/rejection-reasons", roles=(Role.RECRUITER, Role.ADMIN), returns=ReasonPage)
def list_reasons(call, params: ListQuery):
    """Rejection reasons, the default set first (staff)"""
    return render_page(ReasonOut, pipelines.list_reasons(call.context(), **params.model_dump()))


@routes.get("/rejection-reasons/{reason_id}", returns=ReasonEnvelope, etag="rejection_reason", errors=(404,))
def get_reason(call, reason_id):
    """One rejection reason (staff)"""
    return {"rejection_reason": render(ReasonOut, pipelines.get_reason(call.context(), reason_id))}


@routes.post("/rejection-reasons", roles=ADMIN, returns=ReasonEnvelope, status=201, etag="rejection_reason")
def create_reason(call, body: ReasonRequest):
    """Add a rejection reason (admin)"""
    reason = pipelines.create_reason(call.context(), name=body.name, type=body.type)
    return {"rejection_reason": render(ReasonOut, reason)}


@routes.patch(
    "/rejection-reasons/{reason_id}",
    roles=ADMIN,
    returns=ReasonEnvelope,
    etag="rejection_reason",
    if_match=True,
    errors=(404, 409),
)
def update_reason(call, reason_id, body: ReasonUpdateRequest):
    """Rename or retype a rejection reason (admin)"""
    reason = pipelines.update_reason(call.context(), reason_id, body.changes(), if_match=call.if_match())
    return {"rejection_reason": render(ReasonOut, reason)}

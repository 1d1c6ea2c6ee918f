"""A job's hiring team."""

from chalicelib.domain.team import TeamMember
from chalicelib.schemas.pipelines import MemberEnvelope, MemberIn, MemberOut, TeamList, TeamRequest
from chalicelib.services import teams

from .http import Routes, render, render_list

routes = Routes(tag="teams", auth="required")
CHANGE = dict(if_match=True, errors=(403, 404, 409))  # If-Match: the job's version


def _member(body: MemberIn) -> TeamMember:
    return TeamMember(body.user_id, body.role)


@routes.get("/jobs/{job_id}/team", returns=TeamList, errors=(403, 404))
def get_team(call, job_id):
    """The job's hiring team"""
    return render_list(MemberOut, teams.get_team(call.context(), job_id))


@routes.put("/jobs/{job_id}/team", returns=TeamList, **CHANGE)
def replace_team(call, job_id, body: TeamRequest):
    """Replace the whole team (one recruiter at least)"""
    members = [_member(member) for member in body.members]
    seen = teams.replace_team(call.context(), job_id, members, if_match=call.if_match())
    return render_list(MemberOut, seen)


@routes.post("/jobs/{job_id}/team", returns=MemberEnvelope, status=201, **CHANGE)
def add_member(call, job_id, body: MemberIn):
    """Add a member, or give a member another role"""
    seen = teams.add_member(call.context(), job_id, _member(body), if_match=call.if_match())
    return {"member": render(MemberOut, seen)}


@routes.delete("/jobs/{job_id}/team/{user_id}", status=204, **CHANGE)
def remove_member(call, job_id, user_id):
    """Remove a member (not the last recruiter)"""
    teams.remove_member(call.context(), job_id, user_id, if_match=call.if_match())

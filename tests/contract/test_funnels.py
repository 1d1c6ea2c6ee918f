"""A job's funnel counters through the repositories, on every driver: summed over shards, and two
changes of one job's applications in one commit add to the same counter items, summed."""

from chalicelib.domain.models import Application, Job

from .test_repositories import make_user, who


def test_two_applies_in_one_commit_add_up(uow_factory, recruiter):
    job = Job.publish(owner=who(recruiter), title="Engineer")
    candidates = [make_user(uow_factory, f"c{n}@example.com") for n in range(2)]
    with uow_factory() as uow:
        uow.jobs.add(job)
        uow.commit()
    with uow_factory() as uow:
        for candidate in candidates:
            uow.applications.add(Application.submit(job=job, candidate=who(candidate), cover_letter=None))
        uow.commit()  # one item per counter: the two applies' additions summed into it
    stages, outcomes = uow_factory().funnels.read(job.id, [stage.id for stage in job.stages])
    assert (stages[job.stages[0].id].get("current"), stages[job.stages[0].id].get("entered")) == (2, 2)
    assert outcomes == {}


def test_counters_are_summed_over_the_shards(uow_factory, recruiter, candidate):
    job = Job.publish(owner=who(recruiter), title="Engineer")
    with uow_factory() as uow:
        uow.jobs.add(job)
        uow.commit()
    application = Application.submit(job=job, candidate=who(candidate), cover_letter=None)
    with uow_factory() as uow:
        uow.applications.add(application)
        uow.commit()
    for target in (job.stages[1], job.stages[2], job.stages[1]):  # each commit on a shard of its own choosing
        with uow_factory() as uow:
            current = uow.applications.get(application.id)
            current.move(job, actor=who(recruiter), from_stage_id=current.stage_id, to_stage_id=target.id, note=None)
            uow.applications.save(current)
            uow.commit()
    stages, _ = uow_factory().funnels.read(job.id, [stage.id for stage in job.stages])
    assert [(stages[s.id].get("current", 0), stages[s.id].get("entered", 0)) for s in job.stages] == [
        (0, 1),
        (1, 1),
        (0, 1),
        (0, 0),
        (0, 0),
    ]

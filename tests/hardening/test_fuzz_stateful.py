"""Schemathesis' stateful mode: call sequences that follow the schema's links.

Objects made by one call (a workflow, an agent, a data source...) are read, changed, run and
deleted by the next ones, with the ids the API really returned, so the fuzzing reaches past the
404 of a made-up id. Every answer is checked as in the stateless pass, plus Schemathesis' stateful
checks: a deleted object stays gone, a created one can be read back.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.specs.openapi import checks as openapi_checks

from tests.factories import UserFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

EXCLUDED = ["/api/v1/agent-chat/{agent_id}/stream", "/api/v1/chat/completions", "/health"]
EXCLUDED_CHECKS = [openapi_checks.negative_data_rejection,
                   openapi_checks.positive_data_acceptance]

# Only the links the schema documents: Schemathesis' own guesses (any `id` into any `{id}`) would
# mostly test 404s.
schema.config.phases.stateful.inference.algorithms = []
Workflow = schema.exclude(path=EXCLUDED).as_state_machine()


@pytest.mark.slow
def test_linked_call_sequences_answer_within_the_schema(transactional_db):
    class Sequences(Workflow):
        # Each scenario starts from nothing, as a new user, and leaves nothing behind: Hypothesis
        # replays scenarios and needs the same calls to get the same answers.
        def setup(self):
            self.user = UserFactory()
            self.headers = {"Authorization": f"Bearer {AccessToken.for_user(self.user)}"}

        def teardown(self):
            self.user.delete()

        def get_call_kwargs(self, case):
            return {"headers": self.headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, excluded_checks=EXCLUDED_CHECKS,
                                   headers=self.headers, transport_kwargs=kwargs,
                                   recorder=self.recorder)

    Sequences.run(settings=settings(max_examples=100, stateful_step_count=10, deadline=None,
                                    derandomize=True, suppress_health_check=list(HealthCheck)))

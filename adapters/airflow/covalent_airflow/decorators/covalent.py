"""``@task.covalent``: TaskFlow's ``@task``, with the body run on a covalent_core executor.

Registered through the provider info ("task-decorators"), so it sits next to ``@task``,
``@task.docker`` and ``@task.virtualenv`` in existing DAGs::

    @task.covalent(executor="slurm", conn_id="hpc")
    def simulate(n: int) -> float: ...
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from airflow.sdk.bases.decorator import DecoratedOperator, TaskDecorator, task_decorator_factory

from covalent_airflow.operators.covalent import CovalentOperator


class _CovalentDecoratedOperator(DecoratedOperator, CovalentOperator):
    custom_operator_name = "@task.covalent"
    template_fields = CovalentOperator.template_fields
    template_fields_renderers = CovalentOperator.template_fields_renderers

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None,
        op_kwargs: Mapping[str, Any] | None,
        covalent_executor: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            kwargs_to_upstream={
                "python_callable": python_callable,
                "op_args": op_args,
                "op_kwargs": op_kwargs,
                "executor": covalent_executor,
            },
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            **kwargs,
        )


def covalent_task(
    python_callable: Callable[..., Any] | None = None,
    multiple_outputs: bool | None = None,
    *,
    executor: Any = None,
    **kwargs: Any,
) -> TaskDecorator:
    """Wrap a function into a CovalentOperator; ``executor=`` and ``conn_id=`` go to it.

    TaskFlow checks ``executor`` against BaseOperator's own (the Airflow executor's
    name), so the covalent executor travels as ``covalent_executor``; the Airflow one,
    if you use several, is ``airflow_executor``.
    """
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=multiple_outputs,
        decorated_operator_class=_CovalentDecoratedOperator,
        covalent_executor=executor,
        **kwargs,
    )

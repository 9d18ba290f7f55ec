"""Names that moved between the Airflow 3 releases covalent-airflow supports (3.1 to 3.3).

Airflow 3.2 moved the task exceptions and the configuration object into the task SDK
(``airflow.sdk``); 3.1 has them only in ``airflow.exceptions`` and ``airflow.configuration``.
Everything else the provider uses has the same public home in every supported release.
"""

from __future__ import annotations

try:
    from airflow.sdk.exceptions import AirflowException, AirflowFailException
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowException, AirflowFailException  # type: ignore[no-redef]

try:
    from airflow.sdk.configuration import conf
except ImportError:  # Airflow 3.1
    from airflow.configuration import conf  # type: ignore[no-redef]

__all__ = ["AirflowException", "AirflowFailException", "conf"]

"""What Airflow's providers manager reads about us (entry point ``apache_airflow_provider``).

It is imported while Airflow loads its configuration, so it imports nothing.
"""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "covalent-airflow",
        "name": "Covalent",
        "description": "Run Airflow tasks on any covalent_core executor (Slurm, SSH, cloud batch "
        "services, quantum hardware) without holding a worker slot while remote jobs run, and "
        "run covalent lattices as DAGs.",
        "integrations": [
            {
                "integration-name": "Covalent",
                "external-doc-url": "https://github.com/AgnostiqHQ/covalent",
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": "Covalent",
                "python-modules": ["covalent_airflow.operators.covalent"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Covalent",
                "python-modules": ["covalent_airflow.hooks.covalent"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Covalent",
                "python-modules": ["covalent_airflow.triggers.covalent"],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "covalent_airflow.hooks.covalent.CovalentHook",
                "connection-type": "covalent",
            }
        ],
        "task-decorators": [
            {
                "name": "covalent",
                "class-name": "covalent_airflow.decorators.covalent.covalent_task",
            }
        ],
        "config": {
            "covalent": {
                "description": "Where covalent-airflow keeps task results too large for XCom.",
                "options": {
                    "results_path": {
                        "description": "Object storage URL (or local path) for results larger "
                        "than xcom_max_bytes or not representable in XCom; every worker must "
                        "reach it. Empty means <AIRFLOW_HOME>/covalent_results.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "s3://aws_default@my-bucket/covalent-results",
                        "default": "",
                    },
                    "xcom_max_bytes": {
                        "description": "Largest JSON-encoded result kept in XCom itself; larger "
                        "results go to results_path and XCom carries a reference.",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": "65536",
                        "default": "65536",
                    },
                },
            }
        },
    }

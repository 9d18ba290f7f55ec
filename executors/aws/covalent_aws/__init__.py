"""covalent_core executors for AWS: Batch, ECS (Fargate), Lambda, EC2 and Braket hybrid jobs.

Each lives in its own module (``awsbatch``, ``ecs``, ``awslambda``, ``ec2``, ``braket``) and
registers under that name, so ``@ct.electron(executor="awsbatch")`` or
``ct.executor.AWSBatchExecutor`` load only the one in use. Nothing is imported here: the
container entrypoint imports this package too, and must start fast.
"""

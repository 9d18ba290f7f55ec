# covalent-aws: AWS Batch, ECS, Lambda, EC2 and Braket executors against moto's server on
# 127.0.0.1 with a compute agent that runs the submitted jobs (covalent_testing.aws), and a
# real sshd for the EC2 instances. Braket runs its circuits on Braket's local simulator.
APT_PACKAGES=(openssh-server openssh-client)
PACKAGES=("$ROOT[dev]" "$ROOT/testing" "$ROOT/executors/ssh" "$ROOT/executors/aws")
REQUIREMENTS=('moto[server]>=5.1,<6' 'amazon-braket-sdk>=1.80')
TESTS=("$ROOT/executors/aws/tests")

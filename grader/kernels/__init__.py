"""Sandboxed Jupyter kernels: the sandbox policy, the launchers (fork server, fresh process,
container, plain), the live kernel that runs cells and answers probes, GPU slots, and
`grader doctor`. Student code runs here and nowhere else."""

"""Custom model training (issue 16): a workspace's images in, a private model out.

- `service`: create (admitted like a job), list, get, cancel; which trained model a job may use
- `worker`: the trainings queue's consumer, the state machine's moves (`states`)
- `style`: what the local trainer learns and how the local provider applies it
- `trainers/`: the local trainer and the hosted seam (Replicate's trainings API)
"""

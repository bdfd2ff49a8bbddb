"""The CDK app (infra/app.py), its stack, the Lambda package and the package check."""

import os

# Node 20 (the machine's) still runs jsii fine; its end-of-life banner is noise in every synth.
# Set before anything imports aws_cdk (jsii reads them when its kernel starts).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

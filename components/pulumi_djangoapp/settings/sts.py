"""STS facts several concepts share (the fetch steps' credentials, the media containers')."""

# The audience EKS's IRSA tokens carry and the cluster's IAM OIDC provider lists by default.
TOKEN_AUDIENCE = "sts.amazonaws.com"

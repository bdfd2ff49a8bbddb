"""Teams: the Cognito user pool and app client people sign in with, and the SES identity
invitation mail is sent from.

The app verifies the pool's ID tokens itself (chalicelib/tenancy/cognito.py: the pool's JWKS,
`iss`, `aud` = the app client, `token_use` id), so the API needs no authorizer; it only needs the
pool's and the client's ids (COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID). Mail: `-c mail_from=`
names the sender; the stack creates its SES email identity (SES mails a verification link to it)
and the API function may send as that address only (`ses:FromAddress`). Without `mail_from`,
synth warns and invitations answer 503 until it is set.
"""

from __future__ import annotations

import sys

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ses as ses
from constructs import Construct

PASSWORD_MIN_LENGTH = 12
ID_TOKEN_HOURS = 1
REFRESH_TOKEN_DAYS = 30


class People(Construct):
    """The user pool (email sign-in, verified emails, optional TOTP MFA) and its public app client."""

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str, protect: bool) -> None:
        super().__init__(scope, construct_id)
        self.pool = cognito.UserPool(
            self,
            "Pool",
            user_pool_name=f"{prefix}-people",
            # People may sign up in the app; they act only once their verified email is a user's
            # here (made by workspace creation or an accepted invitation): tenancy/signin.py.
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            keep_original=cognito.KeepOriginalAttrs(email=True),  # an email change counts once verified
            standard_attributes=cognito.StandardAttributes(email=cognito.StandardAttribute(required=True, mutable=True)),
            password_policy=cognito.PasswordPolicy(
                min_length=PASSWORD_MIN_LENGTH, require_lowercase=True, require_uppercase=True, require_digits=True
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=protect,
            removal_policy=RemovalPolicy.RETAIN if protect else RemovalPolicy.DESTROY,
        )
        self.client = self.pool.add_client(
            "App",
            user_pool_client_name=f"{prefix}-app",
            generate_secret=False,  # a web or mobile app cannot keep a secret
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(ID_TOKEN_HOURS),
            access_token_validity=Duration.hours(ID_TOKEN_HOURS),
            refresh_token_validity=Duration.days(REFRESH_TOKEN_DAYS),
            enable_token_revocation=True,
            read_attributes=cognito.ClientAttributes().with_standard_attributes(email=True, email_verified=True),
        )

    def environment(self) -> dict[str, str]:
        return {"COGNITO_USER_POOL_ID": self.pool.user_pool_id, "COGNITO_CLIENT_ID": self.client.user_pool_client_id}


class Mail(Construct):
    """The SES identity of `mail_from` and the grant to send as it."""

    def __init__(self, scope: Construct, construct_id: str, *, mail_from: str) -> None:
        super().__init__(scope, construct_id)
        self.mail_from = mail_from
        self.identity = ses.EmailIdentity(self, "Identity", identity=ses.Identity.email(mail_from))

    def grant_send(self, role: iam.Role) -> None:
        """`ses:SendEmail` (SESv2) from this identity only, as this address only."""
        stack = Stack.of(self)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="SendInvitationMail",
                actions=["ses:SendEmail"],
                resources=[stack.format_arn(service="ses", resource="identity", resource_name=self.mail_from)],
                conditions={"StringEquals": {"ses:FromAddress": self.mail_from}},
            )
        )


def warn_no_mail(scope: Construct, prefix: str) -> None:
    """No sender: invitations cannot be mailed (they answer 503 naming MAIL_FROM)."""
    message = (
        f"{prefix}: no mail_from: invitation mail cannot be sent. "
        "Add -c mail_from=noreply@example.com (or mail_from:<stage>=...)."
    )
    print(f"WARNING: {message}", file=sys.stderr)
    Annotations.of(scope).add_warning_v2("imagegen:mail-from-unset", message)

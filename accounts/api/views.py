from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.models import User
from platform_site.api.parsers import JSONParser

from .serializers import (
    LoginSerializer,
    RefreshSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from .throttles import LoginFailureThrottle


def _token_pair(user) -> dict:
    refresh = RefreshToken.for_user(user)
    return {"access_token": str(refresh.access_token), "refresh_token": str(refresh),
            "token_type": "bearer"}


class PublicView(APIView):
    """An endpoint reachable without a token; its auth failures still answer 401."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def get_authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class RegisterView(PublicView):
    """Create an account."""

    @extend_schema(request=RegisterSerializer, responses={201: UserSerializer}, tags=["auth"])
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginView(PublicView):
    """Exchange a username (or email) and password for tokens; failures are throttled."""

    # As OAuth2 password forms: JSON, form-urlencoded or multipart.
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(request=LoginSerializer, responses={200: TokenPairSerializer}, tags=["auth"])
    def post(self, request):
        throttle = LoginFailureThrottle()
        if not throttle.allow_request(request, self):
            raise Throttled(wait=throttle.wait(), detail="Too many failed logins; try later.")
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        if user is None:
            throttle.record_failure()
            raise AuthenticationFailed("Incorrect username or password.")
        return Response(_token_pair(user))


class RefreshView(PublicView):
    """Exchange a refresh token for a new pair (the old refresh token is rotated)."""

    @extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer}, tags=["auth"])
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            refresh = RefreshToken(serializer.validated_data["refresh_token"])
        except TokenError as exc:
            raise InvalidToken("The refresh token is invalid or expired.") from exc
        user = User.objects.filter(pk=refresh.payload.get("user_id"), is_active=True).first()
        if user is None:
            raise InvalidToken("The refresh token's user no longer exists or is inactive.")
        # Rotation: the presented refresh token is spent, a new pair is issued.
        refresh.blacklist()
        return Response(_token_pair(user))


class MeView(APIView):
    """The authenticated user."""

    @extend_schema(responses={200: UserSerializer}, tags=["auth"])
    def get(self, request):
        return Response(UserSerializer(request.user).data)

from django import forms
from django.contrib import admin

from . import selectors
from .models import Agent, AgentVersion, ChatMessage, ChatSession, LLMCallLog, ModelConfig


class ModelConfigForm(forms.ModelForm):
    """The API key is write-only here too: typed in, stored encrypted, never shown back."""

    new_api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the stored key.",
    )
    clear_api_key = forms.BooleanField(label="Remove the stored API key", required=False)

    class Meta:
        model = ModelConfig
        fields = ["name", "owner", "provider", "base_url", "model", "defaults", "timeout_s",
                  "is_default"]

    def save(self, commit: bool = True) -> ModelConfig:
        config = super().save(commit=False)
        if self.cleaned_data.get("clear_api_key"):
            config.set_api_key("")
        elif self.cleaned_data.get("new_api_key"):
            config.set_api_key(self.cleaned_data["new_api_key"])
        if commit:
            config.save()
        return config


@admin.register(ModelConfig)
class ModelConfigAdmin(admin.ModelAdmin):
    """Model endpoints; configs without an owner are shared with every user."""

    form = ModelConfigForm
    list_display = ("name", "provider", "model", "owner", "is_shared", "is_default",
                    "api_key_set", "updated_at")
    list_filter = ("provider", "is_default", ("owner", admin.EmptyFieldListFilter))
    search_fields = ("name", "model", "base_url", "owner__username")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    readonly_fields = ("api_key_set", "created_at", "updated_at")
    fields = ("name", "owner", "provider", "base_url", "model", "new_api_key", "clear_api_key",
              "api_key_set", "defaults", "timeout_s", "is_default", "created_at", "updated_at")

    @admin.display(boolean=True, description="Shared")
    def is_shared(self, obj: ModelConfig) -> bool:
        return obj.is_shared

    @admin.display(boolean=True, description="API key set")
    def api_key_set(self, obj: ModelConfig) -> bool:
        return obj.api_key_set


class AgentVersionInline(admin.TabularInline):
    model = AgentVersion
    fields = ("number", "name", "model_config_id", "tools", "comment", "author", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-number",)
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    """Agents with their status, model and versions."""

    list_display = ("name", "owner", "status", "model_config", "version", "updated_at")
    list_filter = ("status",)
    search_fields = ("name", "description", "owner__username")
    list_select_related = ("owner", "model_config")
    raw_id_fields = ("owner", "model_config")
    readonly_fields = ("id", "version", "created_at", "updated_at")
    inlines = [AgentVersionInline]


@admin.register(AgentVersion)
class AgentVersionAdmin(admin.ModelAdmin):
    """Immutable snapshots of agents."""

    list_display = ("agent", "number", "comment", "author", "created_at")
    search_fields = ("agent__name", "comment")
    list_select_related = ("agent", "author")
    readonly_fields = [f.name for f in AgentVersion._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ChatMessageInline(admin.TabularInline):
    model = ChatMessage
    fields = ("created_at", "role", "status", "content", "steps", "usage", "model")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ChatSession)
class ChatSessionAdmin(admin.ModelAdmin):
    """Conversations with agents, message by message."""

    list_display = ("title", "agent", "owner", "created_at", "updated_at")
    search_fields = ("title", "agent__name", "owner__username")
    list_select_related = ("agent", "owner")
    raw_id_fields = ("agent", "owner")
    readonly_fields = ("id", "created_at", "updated_at")
    inlines = [ChatMessageInline]


@admin.register(LLMCallLog)
class LLMCallLogAdmin(admin.ModelAdmin):
    """Every model call with its tokens and latency; the totals cover the filtered calls."""

    change_list_template = "admin/agents/llmcalllog/change_list.html"
    list_display = ("created_at", "status", "provider", "model", "agent", "owner",
                    "total_tokens", "prompt_tokens", "completion_tokens", "latency_ms",
                    "node_id", "error_code")
    list_filter = ("status", "provider", "model", "streamed",
                   ("agent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("model", "node_id", "error_code", "agent__name", "owner__username")
    list_select_related = ("agent", "owner")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in LLMCallLog._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}) or {}
        cl = changelist.get("cl")
        if cl is not None:
            response.context_data["llm_totals"] = selectors.llm_call_totals(cl.queryset)
        return response

"""Settings of Zalo office groups (the OA's group chat, GMF): every wire detail is unconfirmed on a real
OA (../shared/channels.md), so each is configurable under `zalo.group:` in config.yaml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ZaloGroupSettings(BaseModel):
    """Office groups through the OA's group chat (GMF); every field unconfirmed on a real OA (channels.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    message_path: str = "/v3.0/oa/group/message"
    create_path: str = "/v3.0/oa/group/creategroupwithoa"
    quota_path: str = "/v3.0/oa/quota/group"
    product_type: str = "gmf100"           # the GMF package the OA holds (gmf10/gmf50/gmf100/gmf1000)
    quota_type: str = "sub_quota"
    asset_id: str = ""                     # a known group quota asset; "" asks quota_path for one
    # Where a group event carries its group id, tried in order (sources disagree).
    id_fields: tuple[str, ...] = ("recipient.group_id", "message.conversation_id", "group_id", "recipient.id")
    oa_id: str = ""                        # the OA's own id, never taken for a group id
    # Where a group message names the OA message it quotes (a reply to a card names its ticket).
    quote_fields: tuple[str, ...] = ("message.quote_msg_id", "message.quote_message_id", "message.reply_to_msg_id",
                                     "message.quote.msg_id")
    # Error codes meaning "group quota exhausted" (reported, not documented): alert an admin once.
    # Any other unknown group error is also not retried and alerts an admin once.
    quota_error_codes: tuple[int, ...] = ()

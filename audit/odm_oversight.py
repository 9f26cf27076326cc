"""Queries, SDV and electronic signatures in the ODM 1.3.2 export.

Each oversight event is exported like any other (its own FormData with items and audit
records); in addition it annotates or signs the event it is about, in a ``Context`` FormData
of that event:

- ``signature.applied``: one ODM ``Signature`` per signed event (who, where, the meaning as a
  ``SignatureDef`` in AdminData, when, and the signed event's SHA-256 as its
  ``CryptoBindingManifest``);
- ``query.*``: an ``Annotation`` whose Comment is the question or answer (Sponsor or Site) and
  whose Flag is the query's new status;
- ``sdv.verified`` / ``sdv.reset``: an ``Annotation`` flagging each verified (or reset) event.
"""

from __future__ import annotations

from typing import Any

from audit.odm import (
    _attrs,
    _location_oid,
    _text,
    _type_oid,
    _user_oid,
)

__all__ = ["QUERY_CODELIST", "SDV_CODELIST", "oversight_xml", "signature_defs"]

MEANINGS = ("authorship", "review", "approval", "responsibility")
QUERY_CODELIST = "CL.QUERY_STATUS"
SDV_CODELIST = "CL.SDV_STATUS"
_QUERY_STATUS = {
    "query.opened": "open",
    "query.answered": "answered",
    "query.closed": "closed",
    "query.reopened": "open",
}


def signature_defs() -> str:
    """AdminData's SignatureDefs: one per meaning a signature can carry (21 CFR 11.50)."""
    return "".join(
        f"<SignatureDef{_attrs(OID=f'SD.{meaning}', Methodology='Electronic')}>"
        f"<Meaning>{meaning}</Meaning>"
        "<LegalReason>21 CFR Part 11 electronic signature: user id and password re-entered at "
        "signing, bound to the SHA-256 hashes of the signed events</LegalReason>"
        "</SignatureDef>\n"
        for meaning in MEANINGS
    )


def _context_form(event_type: str, seq: int, inner: str) -> str:
    oid = _type_oid(event_type)
    event = _attrs(StudyEventOID="SE." + oid.split("_")[0], TransactionType="Context")
    form = _attrs(FormOID="F." + oid, FormRepeatKey=str(seq), TransactionType="Context")
    return f"<StudyEventData{event}><FormData{form}>{inner}</FormData></StudyEventData>\n"


def _annotation(row: dict[str, Any], comment: str, by: str, codelist: str, flag: str) -> str:
    ident = f"AN.{row['stream']}.{row['seq']}".replace(" ", "_")
    return (
        f"<Annotation{_attrs(SeqNum=str(row['seq']), TransactionType='Insert', ID=ident)}>"
        f"<Comment{_attrs(SponsorOrSite=by)}>{_text(comment)}</Comment>"
        f"<Flag><FlagValue{_attrs(CodeListOID=codelist)}>{_text(flag)}</FlagValue></Flag>"
        "</Annotation>"
    )


def oversight_xml(
    row: dict[str, Any], site: str, types: dict[int, str], queries: dict[str, int]
) -> str:
    """The Context forms an oversight event adds; '' for any other event.

    ``queries`` maps a query id to the event it is about, filled as the stream is written.
    """
    payload: dict[str, Any] = row.get("payload") or {}
    kind = str(payload.get("type"))
    seq = int(row["seq"])
    if kind == "signature.applied":
        parts = []
        for ref in payload.get("signed", ()):
            signed_seq = int(ref["seq"])
            digest = ref.get("hash") or row.get("prev_hash")
            ident = f"SIG.{row['stream']}.{seq}.{signed_seq}"
            meaning = f"SD.{payload['meaning']}"
            signature = (
                f"<Signature{_attrs(ID=ident)}>"
                f"<UserRef{_attrs(UserOID=_user_oid(str(payload['signer_id'])))}/>"
                f"<LocationRef{_attrs(LocationOID=_location_oid(site))}/>"
                f"<SignatureRef{_attrs(SignatureOID=meaning)}/>"
                f"<DateTimeStamp>{_text(str(row['recorded_at']))}</DateTimeStamp>"
                f"<CryptoBindingManifest>sha256:{_text(str(digest))}</CryptoBindingManifest>"
                "</Signature>"
            )
            parts.append(
                _context_form(types.get(signed_seq, str(ref["type"])), signed_seq, signature)
            )
        return "".join(parts)
    if kind in _QUERY_STATUS:
        query_id = str(payload["query_id"])
        if kind == "query.opened":
            queries[query_id] = int(payload["target_seq"])
        target = queries.get(query_id)
        if target is None:
            return ""
        text = payload.get("question") or payload.get("answer") or kind
        by = "Site" if kind == "query.answered" else "Sponsor"
        note = _annotation(row, f"{query_id}: {text}", by, QUERY_CODELIST, _QUERY_STATUS[kind])
        return _context_form(types.get(target, "unknown"), target, note)
    if kind == "sdv.verified":
        form = str(payload["form"])
        return "".join(
            _context_form(
                types.get(int(s), "unknown"),
                int(s),
                _annotation(
                    {**row, "seq": f"{seq}{n:03d}"},
                    f"source data verified: {form} ({payload.get('level')})",
                    "Sponsor",
                    SDV_CODELIST,
                    "verified",
                ),
            )
            for n, s in enumerate(payload.get("seqs", ()), start=1)
        )
    if kind == "sdv.reset":
        cause = int(payload["cause_seq"])
        note = _annotation(
            row,
            f"SDV of {payload['form']} reset: {payload['cause']}",
            "Site",
            SDV_CODELIST,
            "reset",
        )
        return _context_form(types.get(cause, "unknown"), cause, note)
    return ""

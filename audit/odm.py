"""The audit trail as a CDISC ODM 1.3.2 transactional document.

Every stored event becomes one FormData transaction (FormRepeatKey = the event's seq) whose
ItemData carry the payload values, each with its own AuditRecord: who (UserRef), where
(LocationRef, the subject's site), when (DateTimeStamp = recorded_at), why (ReasonForChange)
and which stored event it came from (SourceID, with the event's hash). A correction is an
ItemData ``TransactionType="Update"`` inside the *corrected* event's form, its enclosing
elements marked ``Context``, so an ODM reader sees the old value (the earlier Insert), the new
value and the reason in order.

The document is written as text, one event at a time, so memory does not grow with the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TextIO
from xml.sax.saxutils import escape, quoteattr

from audit.source import raw_streams
from domain.canonical import canonical_json
from store.base import EventStore

__all__ = ["ODM_NAMESPACE", "STUDY_OID", "export_odm"]

ODM_NAMESPACE = "http://www.cdisc.org/ns/odm/v1.3"
STUDY_OID = "NCT06243159"
_SOURCE_SYSTEM = "jy231-orchestrator"
_DEFAULT_SITE = "UNKNOWN-SITE"

# Characters XML 1.0 cannot carry at all; free text from staff must not break the document.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# xs:ID values are NCNames.
_NOT_NCNAME = re.compile(r"[^A-Za-z0-9._-]")

_USER_TYPES = {
    "coordinator": "Investigator",
    "investigator": "Investigator",
    "pi": "Investigator",
    "monitor": "Sponsor",
    "system": "Other",
}


def _text(value: str) -> str:
    return escape(_INVALID_XML.sub("\ufffd", value))


def _attr(value: str) -> str:
    return quoteattr(_INVALID_XML.sub("\ufffd", value))


def _attrs(**values: str | None) -> str:
    return "".join(f" {k}={_attr(v)}" for k, v in values.items() if v is not None)


def _mdv_oid(protocol_version: str) -> str:
    return f"MDV.{protocol_version}"


def _user_oid(user_id: str) -> str:
    return f"U.{user_id}"


def _location_oid(site: str) -> str:
    return f"L.{site}"


def _type_oid(event_type: str) -> str:
    return event_type.upper().replace(".", "_")


def _item_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return canonical_json(value)


@dataclass
class _Directory:
    """Who acted, where and under which protocol versions: AdminData must precede ClinicalData."""

    users: dict[str, str] = field(default_factory=dict)
    sites: dict[str, date] = field(default_factory=dict)
    versions: set[str] = field(default_factory=set)
    # Signers' printed names, from their signatures (21 CFR 11.50: shown with every signature).
    names: dict[str, str] = field(default_factory=dict)


def _site_of(row: dict[str, Any]) -> str | None:
    payload = row.get("payload") or {}
    if payload.get("type") == "subject.registered":
        return str(payload.get("site_id") or _DEFAULT_SITE)
    return None


def _collect(store: EventStore, subject: str | None) -> _Directory:
    found = _Directory()
    for _, rows in raw_streams(store, subject):
        site = _DEFAULT_SITE
        for row in rows:
            site = _site_of(row) or site
            actor = row.get("actor") or {}
            found.users.setdefault(str(actor.get("user_id")), str(actor.get("role")))
            found.versions.add(str(row.get("protocol_version")))
            payload = row.get("payload") or {}
            if payload.get("type") == "signature.applied":
                found.names[str(payload.get("signer_id"))] = str(payload.get("printed_name"))
            day = datetime.fromisoformat(str(row["recorded_at"])).date()
            found.sites[site] = min(found.sites.get(site, day), day)
    return found


def _write_head(out: TextIO, found: _Directory, created: datetime) -> None:
    stamp = created.astimezone(UTC)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(
        f"<ODM xmlns={_attr(ODM_NAMESPACE)}"
        + _attrs(
            Description=f"Audit trail of trial {STUDY_OID}",
            FileType="Transactional",
            Granularity="All",
            FileOID=f"JY231.AUDIT.{stamp:%Y%m%dT%H%M%S}",
            CreationDateTime=stamp.isoformat().replace("+00:00", "Z"),
            ODMVersion="1.3.2",
            Originator=_SOURCE_SYSTEM,
            SourceSystem=_SOURCE_SYSTEM,
        )
        + ">\n"
    )
    out.write(f"<Study{_attrs(OID=STUDY_OID)}>\n<GlobalVariables>")
    out.write(f"<StudyName>{_text(STUDY_OID)}</StudyName>")
    out.write(
        "<StudyDescription>JY231 injection for refractory autoimmune diseases</StudyDescription>"
    )
    out.write(f"<ProtocolName>{_text(STUDY_OID)}</ProtocolName></GlobalVariables>\n")
    for version in sorted(found.versions):
        out.write(
            f"<MetaDataVersion{_attrs(OID=_mdv_oid(version), Name=f'Protocol {version}')}/>\n"
        )
    out.write("</Study>\n")
    out.write(f"<AdminData{_attrs(StudyOID=STUDY_OID)}>\n")
    for user_id, role in sorted(found.users.items()):
        out.write(
            f"<User{_attrs(OID=_user_oid(user_id), UserType=_USER_TYPES.get(role, 'Other'))}>"
            f"<LoginName>{_text(user_id)}</LoginName>"
            f"<DisplayName>{_text(f'{user_id} ({role})')}</DisplayName>"
            + (
                f"<FullName>{_text(found.names[user_id])}</FullName>"
                if user_id in found.names
                else ""
            )
            + "</User>\n"
        )
    for site, since in sorted(found.sites.items()):
        out.write(f"<Location{_attrs(OID=_location_oid(site), Name=site, LocationType='Site')}>")
        for version in sorted(found.versions):
            out.write(
                "<MetaDataVersionRef"
                + _attrs(
                    StudyOID=STUDY_OID,
                    MetaDataVersionOID=_mdv_oid(version),
                    EffectiveDate=since.isoformat(),
                )
                + "/>"
            )
        out.write("</Location>\n")
    from audit import odm_oversight

    out.write(odm_oversight.signature_defs())
    out.write("</AdminData>\n")


def _audit_record(row: dict[str, Any], site: str, record_id: str) -> str:
    actor = row.get("actor") or {}
    reason = row.get("reason")
    parts = [
        f"<AuditRecord{_attrs(ID=_NOT_NCNAME.sub('_', record_id))}>",
        f"<UserRef{_attrs(UserOID=_user_oid(str(actor.get('user_id'))))}/>",
        f"<LocationRef{_attrs(LocationOID=_location_oid(site))}/>",
        f"<DateTimeStamp>{_text(str(row['recorded_at']))}</DateTimeStamp>",
    ]
    if reason:
        parts.append(f"<ReasonForChange>{_text(str(reason))}</ReasonForChange>")
    source = f"event {row['stream']}#{row['seq']} {row['type']} sha256:{row['hash']}"
    parts.append(f"<SourceID>{_text(source)}</SourceID></AuditRecord>")
    return "".join(parts)


def _item(item_oid: str, value: Any, transaction: str, audit: str) -> str:
    text = _item_value(value)
    attrs = _attrs(
        ItemOID=item_oid,
        TransactionType=transaction,
        IsNull="Yes" if text is None else None,
        Value=text,
    )
    return f"<ItemData{attrs}>{audit}</ItemData>"


def _form(event_type: str, repeat_key: int, transaction: str, items: list[str]) -> str:
    oid = _type_oid(event_type)
    event_attrs = _attrs(StudyEventOID="SE." + oid.split("_")[0], TransactionType=transaction)
    form_attrs = _attrs(
        FormOID="F." + oid, FormRepeatKey=str(repeat_key), TransactionType=transaction
    )
    group_attrs = _attrs(ItemGroupOID="IG." + oid, TransactionType=transaction)
    return (
        f"<StudyEventData{event_attrs}><FormData{form_attrs}><ItemGroupData{group_attrs}>"
        + "".join(items)
        + "</ItemGroupData></FormData></StudyEventData>\n"
    )


def _event_xml(row: dict[str, Any], site: str, types: dict[int, str]) -> str:
    seq = int(row["seq"])
    payload: dict[str, Any] = dict(row.get("payload") or {})
    record = f"AR.{row['stream']}.{seq}"
    if payload.get("type") == "correction.recorded":
        target = int(payload["target_seq"])
        target_type = types.get(target, "unknown")
        item_oid = f"I.{_type_oid(target_type)}.{str(payload['field']).upper()}"
        audit = _audit_record(row, site, record)
        return _form(
            target_type, target, "Context", [_item(item_oid, payload["new_value"], "Update", audit)]
        )
    oid = _type_oid(str(row["type"]))
    values = {"occurred_at": row.get("occurred_at")}
    values.update({k: v for k, v in payload.items() if k not in ("type", "schema_version")})
    items = [
        _item(f"I.{oid}.{name.upper()}", value, "Insert", _audit_record(row, site, f"{record}.{n}"))
        for n, (name, value) in enumerate(values.items(), start=1)
    ]
    return _form(str(row["type"]), seq, "Insert", items)


def export_odm(
    store: EventStore,
    out: TextIO,
    subject: str | None = None,
    created: datetime | None = None,
) -> int:
    """Write the ODM document; returns the number of events exported.

    ``created`` fixes CreationDateTime (tests); by default it is the current time.
    """
    from audit.odm_oversight import oversight_xml

    found = _collect(store, subject)
    _write_head(out, found, created or datetime.now(UTC))
    exported = 0
    for stream, rows in raw_streams(store, subject):
        version = str(rows[0].get("protocol_version"))
        out.write(
            f"<ClinicalData{_attrs(StudyOID=STUDY_OID, MetaDataVersionOID=_mdv_oid(version))}>\n"
            f"<SubjectData{_attrs(SubjectKey=stream, TransactionType='Insert')}>\n"
        )
        site = _DEFAULT_SITE
        types: dict[int, str] = {}
        queries: dict[str, int] = {}
        for row in rows:
            site = _site_of(row) or site
            types[int(row["seq"])] = str(row["type"])
            out.write(_event_xml(row, site, types))
            # Queries, SDV and signatures also annotate or sign the event they are about.
            out.write(oversight_xml(row, site, types, queries))
            exported += 1
        out.write("</SubjectData>\n</ClinicalData>\n")
    out.write("</ODM>\n")
    return exported

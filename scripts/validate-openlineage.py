#!/usr/bin/env python3
"""Checks OpenLineage run events against OpenLineage's own object model (the classes
`openlineage-python` generates from the spec's JSON schemas): each event, read from a file
of one JSON event per line, is built into `RunEvent` and the facets' classes field by
field — an unknown field, a missing required one, a value of the wrong type, or one their
validators refuse (a run id that is not a UUID, a time without a time of day) is an error —
and serialized back by the client's own `Serde`, which must give the event as it was
sent. Prints one line per event; exits 1 naming the first event and field that fail.

    target/e2e-venv/bin/python scripts/validate-openlineage.py events.jsonl
"""

import json
import sys
import types
import typing

import attr
from openlineage.client.generated import (
    base,
    error_message_run,
    input_statistics_input_dataset,
    job_type_job,
    nominal_time_run,
    output_statistics_output_dataset,
    processing_engine_run,
    schema_dataset,
)
from openlineage.client.serde import Serde

# The facets the service emits, by the key OpenLineage gives each.
FACETS = {
    "nominalTime": nominal_time_run.NominalTimeRunFacet,
    "processing_engine": processing_engine_run.ProcessingEngineRunFacet,
    "errorMessage": error_message_run.ErrorMessageRunFacet,
    "jobType": job_type_job.JobTypeJobFacet,
    "schema": schema_dataset.SchemaDatasetFacet,
    "inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet,
    "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet,
}


class Invalid(Exception):
    pass


def build(cls, value, where):
    """`value` (a JSON object) as an instance of the attrs class `cls`, strictly."""
    if not isinstance(value, dict):
        raise Invalid(f"{where}: expected an object for {cls.__name__}, got {value!r}")
    attr.resolve_types(cls)
    fields = {f.name: f for f in attr.fields(cls)}
    unknown = set(value) - set(fields)
    if unknown:
        raise Invalid(f"{where}: {cls.__name__} has no field {sorted(unknown)}")
    kwargs = {}
    for name, field in fields.items():
        if not field.init:
            continue
        if name not in value:
            if field.default is attr.NOTHING:
                raise Invalid(f"{where}: {cls.__name__} lacks its field {name!r}")
            continue
        kwargs[field.alias] = convert(field.type, value[name], f"{where}.{name}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        raise Invalid(f"{where}: {cls.__name__} refuses it: {error}") from error


def convert(kind, value, where):
    """`value` as the annotation `kind` says; facet dicts by their keys."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return convert(option, value, where)
            except Invalid as error:
                errors.append(str(error))
        raise Invalid("; ".join(errors))
    if origin is list:
        if not isinstance(value, list):
            raise Invalid(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(kind)
        return [convert(item, v, f"{where}[{n}]") for n, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise Invalid(f"{where}: expected an object, got {value!r}")
        facets = {}
        for key, facet in value.items():
            if key not in FACETS:
                raise Invalid(f"{where}: a facet this check does not know: {key!r}")
            facets[key] = build(FACETS[key], facet, f"{where}.{key}")
        return facets
    if isinstance(kind, type) and issubclass(kind, base.EventType):
        return base.EventType(value)
    if attr.has(kind):
        return build(kind, value, where)
    expected = {str: str, int: int, bool: bool, float: (int, float)}.get(kind)
    if expected is None:
        raise Invalid(f"{where}: a field of type {kind!r} this check does not know")
    if not isinstance(value, expected) or (kind is int and isinstance(value, bool)):
        raise Invalid(f"{where}: expected {kind.__name__}, got {value!r}")
    return value


def without_empty(value):
    """The client serializes an unset list or object as empty; the service leaves it out."""
    if isinstance(value, dict):
        return {k: without_empty(v) for k, v in value.items() if v not in ([], {}, None)}
    if isinstance(value, list):
        return [without_empty(v) for v in value]
    return value


def main(path):
    events = [json.loads(line) for line in open(path) if line.strip()]
    if not events:
        raise SystemExit(f"{path}: no events")
    for n, event in enumerate(events):
        where = f"event {n} ({event.get('eventType')})"
        try:
            run_event = build(base.RunEvent, event, where)
        except Invalid as error:
            raise SystemExit(f"invalid: {error}") from None
        again = without_empty(Serde.to_dict(run_event))
        if again != without_empty(event):
            raise SystemExit(
                f"invalid: {where} does not survive OpenLineage's model:\n"
                f"  sent:  {json.dumps(without_empty(event), sort_keys=True)}\n"
                f"  model: {json.dumps(again, sort_keys=True)}"
            )
        print(f"valid: {where} run {event['run']['runId']} of {event['job']['name']}")


if __name__ == "__main__":
    main(sys.argv[1])

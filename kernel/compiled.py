"""Reads whose SQL the ORM compiles once per process, then runs again with new values.

Compiling a queryset — resolving its joins, lookups and annotations into SQL — costs the ORM a few milliseconds of
CPU for a read PostgreSQL executes in a tenth of one, and a hot read's SQL is the same at every call but for its
values. `compile_read` compiles a queryset built with stand-in values (marks: values no real one can equal, each
used once), remembers which parameter each mark became and how the columns are converted, and `Compiled.rows` runs
that SQL with the real values. Callers keep the compiled read per process and database (`functools.lru_cache`),
and per shape where the SQL depends on it (how many ids an `__in` lists).
"""

import datetime as dt
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Aggregate, JSONField, Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject

from kernel.prefetch import keep_prefetched

MARK = "mark"  # a slot filled with the value of that name at each run
AS_IS = "as is"  # a slot whose value was written in the queryset itself (a status, a flag)


@dataclass(frozen=True)
class Compiled:
    alias: str
    sql: str
    slots: tuple[tuple[str, Any], ...]  # (MARK, its name) or (AS_IS, the value)
    kinds: dict[str, str]  # a mark's name: the kind of field value the database takes in its place ("date", …, "")
    expressions: tuple  # each column's, whose converters the ORM would apply to it

    def params(self, values: dict[str, Any]) -> list:
        missing = {name for kind, name in self.slots if kind == MARK} - values.keys()
        if missing:
            raise TypeError(f"no value for {', '.join(sorted(missing))}")
        ops = connections[self.alias].ops
        adapt = {name: getattr(ops, f"adapt_{kind}field_value") for name, kind in self.kinds.items() if kind}
        params = []
        for kind, key in self.slots:
            if kind == AS_IS:
                params.append(key)
            else:
                params.append(adapt[key](values[key]) if key in adapt else values[key])
        return params

    def rows(self, values: dict[str, Any]) -> list[list]:
        """The rows the queryset would read with `values` in place of its marks, each column converted as the ORM
        converts it (JSON decoded, dates read on SQLite)."""
        connection = connections[self.alias]  # this thread's: converters come from it, as the ORM's do
        converters = [
            (position, connection.ops.get_db_converters(expression) + expression.get_db_converters(connection))
            for position, expression in enumerate(self.expressions)
        ]
        converters = [(position, functions) for position, functions in converters if functions]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params(values))
            rows = [list(row) for row in cursor.fetchall()]
        for row in rows:
            for position, functions in converters:
                value = row[position]
                for convert in functions:
                    value = convert(value, self.expressions[position], connection)
                row[position] = value
        return rows


def compile_read(queryset: QuerySet, marks: dict[str, Any]) -> Compiled:
    """`queryset` (its columns mostly chosen with `values_list`), built with `marks` (name: stand-in value) in place
    of its values, compiled once. A mark the SQL does not carry is an error: the read would ignore that value."""
    alias = queryset.db
    ops = connections[alias].ops
    compiler = queryset.query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    kinds = {name: _kind(value) for name, value in marks.items()}
    adapted = {
        (getattr(ops, f"adapt_{kinds[name]}field_value")(value) if kinds[name] else value): name
        for name, value in marks.items()
    }
    slots = tuple(
        (MARK, adapted[param]) if _hashable(param) and param in adapted else (AS_IS, param) for param in params
    )
    unused = marks.keys() - {name for kind, name in slots if kind == MARK}
    if unused:
        raise ValueError(f"marks not found in the SQL: {', '.join(sorted(unused))}")
    expressions = tuple(column for column, _sql, _alias in compiler.select)
    return Compiled(alias=alias, sql=sql, slots=slots, kinds=kinds, expressions=expressions)


def _kind(value: Any) -> str:
    """The kind of field value the ORM hands the database a value of this type as (dates as text on SQLite, say)."""
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return ""


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def id_marks(name: str, count: int) -> dict[str, int]:
    """Marks for `count` ids of an `__in` lookup: {"<name>0": -1, ...} (no row's id is negative)."""
    return {f"{name}{index}": -1 - index for index in range(count)}


def id_values(name: str, ids: Sequence[int]) -> dict[str, int]:
    """The values of `id_marks(name, len(ids))`."""
    return {f"{name}{index}": pk for index, pk in enumerate(ids)}


def built(model: type[Model], alias: str, values: dict[str, Any], *, from_json: bool = False) -> Model:
    """An instance of `model` as a read would give it, from its columns' `values` by attribute name (any other field
    left deferred); `from_json`: the values were read as JSON (`rows_of`), each made its field's type."""
    fields = [field for field in model._meta.concrete_fields if field.attname in values]
    read = [field.to_python(values[field.attname]) if from_json else values[field.attname] for field in fields]
    return model.from_db(alias, [field.attname for field in fields], read)


@dataclass(frozen=True)
class Joined:
    """A model read with the instances `select_related(*paths)` would join ("route__origin"), as the columns of
    one `values_list(*names)`, the fields named in `unread` ("route__operator__logo") left deferred; `build` makes
    the instances of a row, related ones cached on them as select_related leaves them."""

    model: type[Model]
    paths: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()

    @functools.cached_property
    def names(self) -> list[str]:
        return [name for _path, _model, columns in self._layout for name in columns]

    def build(self, alias: str, row: Sequence, shared: dict | None = None) -> Model:
        """The instance of `row`'s first len(names) columns; instances of the same model and key across rows are
        one when given the same `shared` dict (the two ports of every route between them, say)."""
        values = dict(zip(self.names, row, strict=False))
        instances: dict[str, Model] = {}
        for path, model, columns in self._layout:
            prefix = f"{path}__" if path else ""
            own = {name.removeprefix(prefix): values[name] for name in columns}
            if own[model._meta.pk.attname] is None:  # a nullable relation that is not there
                instance = None
            else:
                instance = built(model, alias, own)
                if shared is not None:
                    instance = shared.setdefault((model, instance.pk), instance)
            instances[path] = instance
            if path:
                parent, _, name = path.rpartition("__")
                if instances[parent] is not None:
                    instances[parent]._meta.get_field(name).set_cached_value(instances[parent], instance)
        return instances[""]

    @functools.cached_property
    def _layout(self) -> list[tuple[str, type[Model], list[str]]]:
        """(path, its model, its columns' names) of the model and each related one, each after the path it goes
        through ("route" before "route__origin")."""
        models = {"": self.model}
        for path in self.paths:
            parent, _, name = path.rpartition("__")
            models[path] = models[parent]._meta.get_field(name).related_model
        layout = []
        for path, model in models.items():
            prefix = f"{path}__" if path else ""
            unread = {name.removeprefix(prefix) for name in self.unread if name.startswith(prefix)}
            columns = [prefix + field.attname for field in model._meta.concrete_fields if field.name not in unread]
            layout.append((path, model, columns))
        return layout


class JSONRows(Aggregate):
    """The rows aggregated as one JSON array, on SQLite and PostgreSQL alike."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSONB_AGG", **extra_context)


def rows_of(model: type[Model], relation: str) -> Subquery:
    """An instance's rows of its reverse relation `relation` (e.g. a fare's passenger_fares) as a JSON array of
    objects by column (the relation's own key left out), null for none: read with the instance, not by a second
    query."""
    field = model._meta.get_field(relation)
    related = field.related_model
    own = field.field.name  # the related rows' key to `model`
    columns = {f.attname: f.attname for f in related._meta.concrete_fields if f.name != own}
    rows = related.objects.filter(**{own: OuterRef("pk")}).order_by().values(own)
    return Subquery(rows.annotate(rows=JSONRows(JSONObject(**columns))).values("rows"), output_field=JSONField())


def keep_rows_of(instance: Model, relation: str, rows: list[dict] | str | None) -> None:
    """The instance's rows of `relation` as `rows_of` read them (JSON text, or decoded already) made its prefetched
    relation, in the related model's order, each row's key to `instance` set, as a prefetch would leave them."""
    key = instance._meta.get_field(relation).field  # the related rows' key to the instance's model
    model = key.model
    objects = []
    for row in (json.loads(rows) if isinstance(rows, str) else rows) or []:
        item = built(model, instance._state.db, row | {key.attname: instance.pk}, from_json=True)
        key.set_cached_value(item, instance)
        objects.append(item)
    ordering = [name for name in model._meta.ordering if name not in (key.name, key.attname)]
    objects.sort(key=lambda item: (*(getattr(item, name) for name in ordering), item.pk))
    keep_prefetched(instance, relation, objects)

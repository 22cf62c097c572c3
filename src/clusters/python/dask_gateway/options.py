"""Cluster options as the server describes them (``GET /api/v1/options``): a mapping with
attribute access whose values are checked against each field's spec before they are sent."""
from collections.abc import MutableMapping

__all__ = ["Options"]


class _Field:
    def __init__(self, field, default, label=None, spec=None):
        self.field = field
        self.label = label or field
        self.spec = spec or {}
        self.value = default

    def validate(self, x):
        kind = self.spec.get("type")
        if kind == "int":
            if isinstance(x, bool) or not isinstance(x, int):
                raise TypeError("%s expects an integer, got %r" % (self.field, x))
        elif kind == "float":
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                raise TypeError("%s expects a number, got %r" % (self.field, x))
        elif kind == "bool":
            if not isinstance(x, bool):
                raise TypeError("%s expects True or False, got %r" % (self.field, x))
        elif kind == "select":
            if x not in self.spec.get("options", []):
                raise ValueError("%s must be one of %r, got %r" % (self.field, self.spec.get("options"), x))
        if kind in ("int", "float"):
            lo, hi = self.spec.get("min"), self.spec.get("max")
            if lo is not None and x < lo:
                raise ValueError("%s must be at least %s" % (self.field, lo))
            if hi is not None and x > hi:
                raise ValueError("%s must be at most %s" % (self.field, hi))
        return x


class Options(MutableMapping):
    """``options.worker_cores = 2`` or ``options["worker_cores"] = 2``; unknown names are errors."""

    def __init__(self, *fields):
        object.__setattr__(self, "_fields", {f.field: f for f in fields})

    @classmethod
    def _from_spec(cls, spec):
        return cls(*(_Field(s["field"], s.get("default"), s.get("label"), s.get("spec")) for s in spec))

    def _field(self, key, exc_cls):
        try:
            return self._fields[key]
        except KeyError:
            raise exc_cls("No option %r (known: %s)" % (key, ", ".join(self._fields))) from None

    def __getattr__(self, key):
        return self._field(key, AttributeError).value

    def __setattr__(self, key, value):
        f = self._field(key, AttributeError)
        f.value = f.validate(value)

    def __getitem__(self, key):
        return self._field(key, KeyError).value

    def __setitem__(self, key, value):
        f = self._field(key, KeyError)
        f.value = f.validate(value)

    def __delitem__(self, key):
        raise TypeError("Options cannot be deleted")

    def __iter__(self):
        return iter(self._fields)

    def __len__(self):
        return len(self._fields)

    def __dir__(self):
        return list(self._fields) + list(super().__dir__())

    def __repr__(self):
        return "Options<%s>" % dict(self)

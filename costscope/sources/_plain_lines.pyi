"""Plain exposition lines taken apart in one pass (C): see _plain_lines.c."""

_Strings = tuple[bytes, bytes]  # Arrow large_string offsets (int64) and data
CompiledComments = tuple[
    list[str],  # families in order of mention by HELP or TYPE
    list[str],  # families with a HELP line
    list[str],  # their HELP texts, escapes unresolved
    int,  # how many of them hold a backslash
    list[str],  # families with a TYPE line
    list[str],  # their types (untyped as unknown)
    list[int],  # the TYPE lines' numbers
    list[tuple[int, str]],  # every other comment line: (line, text)
]

def split(
    lines: list[str], first: int, /
) -> (
    tuple[
        CompiledComments,
        int,  # samples
        bytes,  # their line numbers (int64)
        tuple[
            list[str], list[int], bytes
        ],  # names by runs of equal names: each run's name, first line; each sample's run (int32)
        _Strings,  # values, as text
        tuple[bytes, bytes, bytes, int],  # timestamps as text: offsets, data, validity bitmap, nulls
        int,  # label pairs
        bytes,  # their line numbers (int64)
        _Strings,  # label names
        _Strings,  # label values
    ]
    | None
): ...

"""The logs API for notebooks and scripts: template mining and reading log files.

>>> from costscope.logs import mine_templates
>>> mine_templates(["took 5 ms", "took 12 ms"])["template"].to_list()
['took <*>', 'took <*>']
"""

from costscope.ingest.templates import TemplateMiner, mask_expr, mine_templates
from costscope.sources.log_files import read_log_file
from costscope.sources.log_lines import parse_chunk

__all__ = ["TemplateMiner", "mask_expr", "mine_templates", "parse_chunk", "read_log_file"]

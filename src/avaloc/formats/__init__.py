"""AVA files in and out: ground truth, detections, label maps, exclusions, lists, frame lists.

The leaf of the package: it imports nothing else of avaloc but ``errors`` and ``fileio``.
"""

from avaloc.formats.annotations import (
    AnnotationSummary,
    Instances,
    Keyframe,
    PersonInstance,
    filter_keyframes,
    group_instances,
    instances_to_rows,
    summarize,
)
from avaloc.formats.csvfiles import (
    BOX_COLUMNS,
    DETECTION_COLUMNS,
    GT_COLUMNS,
    ReadReport,
    empty_ground_truth,
    read_detections,
    read_excluded_timestamps,
    read_ground_truth,
    write_detections,
    write_excluded_timestamps,
    write_ground_truth,
)
from avaloc.formats.labelmap import LabelMap, parse_label_map, read_label_map, write_label_map
from avaloc.formats.lists import (
    read_file_name_list,
    read_frame_list,
    read_id_list,
    read_timestamp_list,
    write_frame_list,
)

__all__ = [
    "BOX_COLUMNS",
    "DETECTION_COLUMNS",
    "GT_COLUMNS",
    "AnnotationSummary",
    "Instances",
    "Keyframe",
    "LabelMap",
    "PersonInstance",
    "ReadReport",
    "empty_ground_truth",
    "filter_keyframes",
    "group_instances",
    "instances_to_rows",
    "parse_label_map",
    "read_detections",
    "read_excluded_timestamps",
    "read_file_name_list",
    "read_frame_list",
    "read_ground_truth",
    "read_id_list",
    "read_label_map",
    "read_timestamp_list",
    "summarize",
    "write_detections",
    "write_excluded_timestamps",
    "write_frame_list",
    "write_ground_truth",
    "write_label_map",
]

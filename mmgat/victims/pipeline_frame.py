"""Which frame a pipeline's boxes are in: the one policy for ``gt_frame``.

mmdet's default test pipelines load the annotations *after* ``Resize``, so their boxes
are in the original image frame, not the network input's; a detector victim attacking
such batches needs ``gt_frame='original'``. The suite's attack entries and the sPGD of
universal entries both decide it here.
"""
from typing import Optional, Sequence


def loads_boxes_after_resize(pipeline: Optional[Sequence[dict]]) -> bool:
    """Whether a pipeline loads annotations after resizing (mmdet's test pipelines)."""
    names = [str(t.get('type', '')).split('.')[-1] for t in pipeline or []]
    if 'LoadAnnotations' not in names:
        return False
    load = names.index('LoadAnnotations')
    return any('Resize' in name for name in names[:load])


def victim_options_for_pipeline(task: str, pipeline: Optional[Sequence[dict]],
                                options: Optional[dict] = None) -> dict:
    """Victim options for batches made by ``pipeline``: ``gt_frame='original'`` for a
    detection pipeline that loads the boxes after ``Resize``, unless ``options`` set
    ``gt_frame``."""
    options = dict(options or {})
    if task == 'detection' and 'gt_frame' not in options \
            and loads_boxes_after_resize(pipeline):
        options['gt_frame'] = 'original'
    return options


__all__ = ['loads_boxes_after_resize', 'victim_options_for_pipeline']

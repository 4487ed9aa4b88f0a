"""The embedded default data source: faces simulated from FACS action units. Introduced in chapter 03.

AffectNet and Aff-Wild2 are licence-gated, so every chapter runs on this simulator unless the reader points it at
real data. It is a laboratory, not a stand-in for real faces: each cause the book argues about is a separate knob.

**How a sample is made.** A class is drawn by quota (exact class frequencies); its AU prototype comes from
:data:`affect_book.facs.PROTOTYPES` (one variant when a class has several; contempt on one random side of the
face); "Other" draws 1 to 3 random AUs that contain no prototype (no complete happy, disgust or contempt set).
An *intensity* in ``intensity_range`` scales the prototype, per-AU gains and Gaussian AU noise are added, and a few
spurious AUs switch on weakly. The face is drawn by :func:`affect_book.data.render.render_faces` with an
*identity* (face shape, proportions, skin, hair and iris colour; identities are disjoint between train, val and
test) and *nuisance* (head pose, lighting, blur, pixel noise, an occluding rectangle, the background).

**Labels.** ``expression``: the class index in ``classes``; ``va``: valence and arousal drawn around the class's
centroid scaled by intensity, ``centroid * (0.55 + 0.45 * intensity) + N(0, sd)``, so a stronger expression sits
further from the neutral origin (higher arousal for the aroused classes); ``au``: the 12 ABAW AUs, 1 when the
rendered intensity (the larger side) reaches :data:`AU_THRESHOLD`. Centroids come from a published coordinate set
(``coordinates``, default Russell & Mehrabian 1977) with hand placements (``placements``) for classes it lacks:
by default **contempt at the midpoint of anger and disgust** and **Other at the origin with a wide spread**
(sd 0.30 instead of 0.08). Both are assumptions, the same ones chapter 01 offers, and are stated in every table.

**Presets** (calibration; the counts are read from :data:`affect_book.data.published.PUBLISHED`, which cites them):

- ``affwild2``: the Aff-Wild2-8 classes (with Other). Training frequencies are the s-Aff-Wild2 multi-task (MTL)
  train counts of valid expression labels (Neutral 23,976, Anger 4,555, Disgust 3,168, Fear 3,122, Happiness
  18,135, Sadness 7,609, Surprise 5,228, Other 24,852; Kollias 2022, ABAW4 at the ECCV workshops); validation
  and test use the MTL validation counts. Rows carry partial labels like the MTL file: 90,645 of 142,333 train
  rows have an expression label (63.7 %), 103,316 have AU labels (72.6 %); the published counts
  (:data:`~affect_book.data.published.PUBLISHED`) include no count of valid VA rows, so every row keeps VA (an
  assumption). The designated pair is anger-fear.
- ``affectnet``: the AffectNet-8 classes (with contempt), training frequencies of the AffectNet training set
  (Mollahosseini, Hasani & Mahoor 2017, IEEE Trans. Affective Computing: Neutral 74,874, Happy 134,415, Sad
  25,459, Surprise 14,090, Fear 6,378, Disgust 3,803, Anger 24,882, Contempt 3,750); validation and test balanced
  like AffectNet's validation set (500 per class). No AU labels (the real set has none). The designated pair is
  anger-contempt, and a shortcut cue sits at that corner: in training, contempt faces carry a yellow corner
  mark with probability 0.05 + 0.95 * 0.5 (strength 0.5), every other face with probability 0.05; at validation
  and test the mark is independent of the class.
- ``balanced``: the AffectNet-8 classes, equal frequencies everywhere, all labels, no shortcut; pair anger-fear.

The two benchmark presets exist twice. ``affwild2_posed`` and ``affectnet_posed`` are the definitions above with
posed, full prototypes: they copy the benchmarks' frequencies but not their difficulty (a small CNN scores far above
the published per-class F1). ``affwild2`` and ``affectnet`` add the realistic-difficulty and cause knobs with the
values ``tools/calibrate_simulator.py`` tuned on validation so that the study's base model (chapter 07's ``base``
runs of the ``cpu`` profile, on five calibration seeds and a data draw no verdict uses) follows a published per-class
pattern: AffectNet's plain cross-entropy baseline recall and the HSE-NN s-Aff-Wild2 per-class F1 (:data:`TARGETS`,
with their sources); its table (:func:`calibration_table`, test split) says how closely.

**Knobs** (each independent of the others; each draws from its own random stream, so turning one changes only what
it claims; every one is neutral by default): ``train_proportions``/``eval_proportions`` (class frequencies; or
``class_counts=`` in :func:`make_config`), ``count_scale`` (training counts = scale x the published counts);
``va_degeneracy`` in [0, 1] moves the pair's valence-arousal centroids towards their midpoint (1 = identical) and
``pair_va_distance`` sets their distance directly, closer or further (images untouched); ``visual_degeneracy`` in
[0, 1] blends the pair's AU prototypes towards their mean (VA labels untouched); ``visual_partner=(class, partner,
strength)`` draws a class's faces towards a far class's prototype (contempt towards happy: they share AU12);
``va_from_au`` couples the VA labels to the rendered AU intensities; ``shortcut_strength`` in [0, 1] correlates a
corner mark (a spurious shortcut cue; formerly ``confound_strength``) with ``shortcut_class`` in training only;
``label_noise`` swaps pairs of training labels and ``label_confusion`` applies a directed confusion matrix to the
training labels only (teaching knobs); ``annotation_noise`` is the benchmark presets' annotation model, in every split
as on the real benchmarks: the observed label keeps the split's (published) frequencies and the face shows another class
with that probability, a near one in valence-arousal more likely (:func:`annotation_matrix`; the clean class stays in
``truth["true_expression"]``). **Circumplex nearness reaching the data** (issue 22; without them the VA knobs
change only the VA labels): ``annotation_geometry="cell"`` (the *annotation path*) makes that annotator's confusion
follow the cell's own distances (:func:`cell_positions`, :func:`config_annotation_matrix`), so a pair moved together
is confused more in every split's labels (only where ``annotation_noise > 0``; on in ``affwild2`` and ``affectnet``,
where at the preset's own centroids it gives the calibrated labels unchanged); ``appearance_from_va`` in [0, 1] (the
*appearance path*) blends each face towards the kernel mean of the placed classes' faces at its class's position,
weights ``exp(-d / appearance_spread)`` (:func:`appearance_weights`), so a pair moved together gets nearer faces
(off in the presets: it would redraw the calibrated faces). Neither draws randomness of its own. Realistic
difficulty: ``au_dropout`` (a random subset of the prototype's AUs),
``intensity_beta`` (low-heavy intensities), ``emfacs_variants`` (more EMFACS variants, AU17 among them),
``contempt_scale`` (trace contempt), ``class_intensity`` (per-class intensity factors), ``wild`` (large pose, occluders,
strong blur, low resolution). See :class:`SimulatorConfig` for ranges.

**Without the cache.** :func:`generate_split` renders one split; :func:`split_labels` samples its labels and ground
truth without rendering; :func:`render_rows` renders a few of its rows (the same pixels); :func:`probe_split` renders
the class-balanced, noise-free training images that :func:`affect_book.degeneracy.degeneracy_components` reads
(chapter 09). The samplers :func:`sample_identities`, :func:`sample_nuisance` and :func:`sample_other_aus` (the
book's assumption about Other's faces) are public for figures and tests.

**What it may import**: the renderer (:mod:`affect_book.data.render`), :mod:`affect_book.circumplex`,
:mod:`affect_book.degeneracy` (the designated pair is :func:`affect_book.degeneracy.nearest_pair`),
:mod:`affect_book.facs`, :mod:`affect_book.cache`, :mod:`affect_book.params`, :mod:`affect_book.profiles` and the
data package's own :mod:`~affect_book.data.base` and :mod:`~affect_book.data.published`, all below it; never the
trainer or the study.

**Determinism and cache.** Every random stream is a ``numpy.random.Generator`` seeded from
``(seed, split, stream)`` (and the chunk for pixel noise), parameters are quantised to 1/4096 and rendering is
elementwise IEEE arithmetic, so the same config gives byte-identical arrays on any machine and with any number of
worker processes. :func:`simulate` stores the three splits under ``cache_root()/simulator/<config_hash>/``
(built once under a lock, written to a uniquely named temporary directory, then renamed; orphans of killed builds
are removed by the next build) and loads them (memory-mapped) on the next call. Each dataset carries
``fingerprint`` (:func:`dataset_fingerprint`: the config hash, :data:`SIMULATOR_VERSION` and the split).
"""

from ._annotation import annotation_matrix, class_mean_cost_fill
from ._cache import dataset_fingerprint, simulate, simulate_all
from ._calibration import (AFFECTNET_BASELINE_RECALL, CALIBRATION_CRITERIA, CALIBRATION_DATA_SEED,
                           CALIBRATION_N_TEST, CALIBRATION_PATH,
                           CALIBRATION_SEEDS, TARGETS, calibration_scores, calibration_table, study_calibration)
from ._config import AU_THRESHOLD, SIMULATOR_VERSION, SPLITS, SimulatorConfig, make_config
from ._generate import generate_split, render_examples, render_rows, split_labels
from ._paths import appearance_weights, cell_positions, config_annotation_matrix
from ._presets import PRESETS, designated_pair
from ._probe import probe_config, probe_split
from ._sampling import sample_identities, sample_nuisance, sample_other_aus, signature_aus
from ._source import SOURCE_OPTIONS, load_synthetic

__all__ = [
    "AFFECTNET_BASELINE_RECALL", "AU_THRESHOLD", "CALIBRATION_CRITERIA", "CALIBRATION_DATA_SEED",
    "CALIBRATION_N_TEST", "CALIBRATION_PATH",
    "CALIBRATION_SEEDS", "PRESETS", "SIMULATOR_VERSION", "SOURCE_OPTIONS", "SPLITS", "SimulatorConfig", "TARGETS",
    "annotation_matrix", "appearance_weights", "calibration_scores", "calibration_table", "cell_positions",
    "class_mean_cost_fill", "config_annotation_matrix", "designated_pair", "study_calibration", "dataset_fingerprint",
    "generate_split", "load_synthetic", "make_config", "probe_config", "probe_split", "render_examples", "render_rows",
    "sample_identities", "sample_nuisance", "sample_other_aus", "signature_aus",
    "simulate", "simulate_all", "split_labels",
]

"""Analysis modules the claims use: interval certificates (certify), rates from spectra (rates),
the autograd-vs-training gap (autograd_gap), user formulas (formulas), per-activation gains
(activation_gains), theory-vs-measurement comparisons (compare), input laws (input_laws) and
the spectrum summaries the command line prints (summaries). Each is a pure library module: no
argument parsing, no report writing."""

"""Analysis modules the claims use: interval certificates (certify), rates from spectra (rates),
the autograd-vs-training gap (autograd_gap), user formulas (formulas), per-activation gains
(activation_gains), theory-vs-measurement comparisons (compare), input laws (input_laws) and
the spectrum summaries the command line prints (summaries), and the certified landscape: ball
enclosures of the relu population field (enclosures), the Krawczyk existence test (krawczyk),
the type tests and certificates (landscape_certificate) and their stored points
(landscape_points). Each is a pure library module: no argument parsing, no report writing
(landscape_points' regeneration entry point excepted)."""

"""Understanding citizens' text: normalisation and accent folding, similarity, the category classifier.
May import: nothing else of danvan (pure functions over text and data files).
"""

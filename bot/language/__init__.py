"""Understanding citizens' text: normalisation and accent folding, similarity, the category classifier
(linear = the scikit-learn model in use, classifier = the earlier hand-written one and shared types,
learning = officials' corrections and the retraining rule; labelled and held-out sets in data/).
May import: nothing else of danvan (pure functions over text and data files).
"""

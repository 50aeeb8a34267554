"""Networks: demo models and data, a user's model, weights and data, and the one builder of a
network objective from them (:func:`losslab.networks.build.network_objective`).

Imports :mod:`losslab.objectives` (and below).
"""

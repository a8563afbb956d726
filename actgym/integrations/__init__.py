"""actgym as a task of the evolvers researchers already run: OpenEvolve
(`actgym.integrations.openevolve`) and ShinkaEvolve (`actgym.integrations.shinka`).

Neither framework is needed to import these modules. Both adapters score with one
`Evaluator` per process on the same score scale (`actgym.integrations.scoring`), and
`actgym openevolve init` / `actgym shinka init` write a ready task directory
(`actgym.integrations.scaffold`).
"""

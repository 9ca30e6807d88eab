"""leaky: the Leaky ReLU activation, exact and fast on every array library.

>>> import leaky
>>> leaky.leaky_relu([-1.0, 2.0])
array([-0.01,  2.  ])
"""

from leaky._version import __version__ as __version__
from leaky.functional import leaky_relu as leaky_relu
from leaky.functional import leaky_relu_backward as leaky_relu_backward
from leaky.functional import leaky_relu_derivative as leaky_relu_derivative

__all__ = ["__version__", "leaky_relu", "leaky_relu_backward", "leaky_relu_derivative"]
